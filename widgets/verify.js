/* gamify "Verify this draw" panel: what a draw committed to, and where to check it.
 *
 *   const panel = gamify.verify.create(el, { t, href });
 *   panel.show({ commitment, epoch, nonce, client_seed }); panel.destroy();
 *
 * A module of the widget: the loader (widget.js) loads this file when the shopper first opens
 * the disclosure under a game, and the file registers itself with gamify.register. Before a
 * play it shows the campaign's commitment (SHA-256 of the secret server seed), its epoch and
 * this browser's client seed; after one, the play's commitment, epoch, nonce and client seed,
 * with a link to the campaign's public fairness record, where the seed is revealed when the
 * epoch closes (docs/fairness.md says how to recompute a draw).
 */
(() => {
  "use strict";

  const STRINGS = {
    en: {
      commitment: "Commitment",
      epoch: "Epoch",
      nonce: "Nonce",
      seed: "Your seed",
      fairText:
        "Before you play, the server commits to a secret seed by publishing its hash. The seed " +
        "is revealed when the epoch ends, so anyone can recompute every draw.",
      fairLink: "Public fairness record",
    },
    es: {
      commitment: "Compromiso",
      epoch: "Época",
      nonce: "Nonce",
      seed: "Tu semilla",
      fairText:
        "Antes de que juegues, el servidor se compromete con una semilla secreta publicando su " +
        "hash. La semilla se revela al cerrar la época, y cualquiera puede recalcular cada sorteo.",
      fairLink: "Registro público de equidad",
    },
  };

  const CSS = `
.verify dl {
  display: grid;
  grid-template-columns: auto 1fr;
  gap: .25rem .75rem;
  margin: .5rem 0;
}
.verify dt { font-weight: 600; }
.verify dd {
  margin: 0;
  font-family: ui-monospace, monospace;
  word-break: break-all;
}
`;

  const DEFAULTS = Object.freeze({
    t: null, // translator from the loader; English when absent
    href: "", // the campaign's fairness record: {prefix}/api/campaigns/<id>/fairness
  });

  const english = (key) => STRINGS.en[key];

  // h("dt", {class: "x"}, "text"): text goes in as text only.
  const h = (tag, attrs = {}, text = "") => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.textContent = text;
    return el;
  };

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const t = o.t || english;
    const rows = h("dl");
    const box = h("div", { class: "verify" });
    const link = h("a", { href: o.href, target: "_blank", rel: "noopener" }, t("fairLink"));
    box.append(rows, h("p", {}, t("fairText")), link);
    el.append(box);
    return {
      // a play's receipt (or the campaign's, before any): the rows it has
      show: (source) => {
        const items = [
          ["commitment", source.commitment],
          ["epoch", source.epoch],
          ["nonce", source.nonce],
          ["seed", source.client_seed],
        ];
        rows.replaceChildren(
          ...items.flatMap(([key, value]) =>
            value == null ? [] : [h("dt", {}, t(key)), h("dd", {}, `${value}`)],
          ),
        );
      },
      destroy: () => box.remove(),
    };
  };

  window.gamify.register("verify", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
