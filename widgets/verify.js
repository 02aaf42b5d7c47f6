/* gamify "Verify this draw" panel: what a draw committed to, and the browser's own check of it.
 *
 *   const panel = gamify.verify.create(el, { t, prefix, id, call, prizes });
 *   panel.show({ commitment, epoch, nonce, client_seed }); panel.destroy();
 *   gamify.verify.check: { canonical, included, parseNote, signedBy, draw }, the checks alone
 *
 * A module of the widget: the loader (widget.js) loads this file when the shopper first opens
 * the disclosure under a game, and the file registers itself with gamify.register. Before a
 * play it shows the campaign's commitment (SHA-256 of the secret server seed), its epoch and
 * this browser's client seed; after one, the play's commitment, epoch, nonce and client seed.
 *
 * With a signed-in shopper (`call`, the loader's API caller) it then checks their latest plays
 * here, with Web Crypto, trusting nothing the server says without proof (CONTRACT §12,
 * docs/fairness.md §13):
 *   - the log: the receipt's row hashes to its leaf, the leaf's RFC 9162 inclusion proof leads
 *     to the root of a checkpoint signed with the log's Ed25519 key, for this campaign's log;
 *   - the draw, once the epoch's seed is revealed: the seed matches its commitment, the config
 *     version matches its hash, and HMAC-SHA256 of the seed (v1 or v2 message) draws the prize
 *     the receipt says.
 * Each check ends as ✓, ✗ with what failed, "pending" (not signed yet, seed not yet revealed)
 * or "cannot check here" (no Web Crypto, no Ed25519), with the audit bundle for `gamify verify`.
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
      mine: "Your latest draws, checked in this browser",
      checking: "Checking your draws…",
      checked: "Draws checked: {n}. Verified: {ok}. Failed: {bad}. Pending: {wait}.",
      play: "Play {seq}, {date}",
      ok: "Verified",
      bad: "Failed",
      wait: "Pending",
      na: "Not checked here",
      logOk: "in the public log ({size} plays), signed by {name}",
      logWait: "not in a signed checkpoint yet; open this panel again in a minute",
      logNone: "this store does not sign its log",
      drawOk: "the revealed seed draws {prize}",
      drawWait: "the seed is revealed when the epoch closes, {date}",
      swapped: "drawn {drawn}, given {awarded}: the prize was out of stock or over budget",
      row: "the receipt does not hash to its own hash",
      proof: "the inclusion proof does not lead to the signed root",
      signature: "the checkpoint's signature is not valid",
      origin: "the checkpoint is of another log",
      commit: "the revealed seed does not match its commitment",
      config: "the prize table does not match its hash",
      drawn: "the revealed seed draws {prize}, not {drawn}",
      network: "could not reach the server",
      noCrypto: "this browser cannot check it (no Ed25519 in Web Crypto)",
      bundle: "Audit bundle, for gamify verify",
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
      mine: "Tus últimos sorteos, comprobados en este navegador",
      checking: "Comprobando tus sorteos…",
      checked: "Sorteos comprobados: {n}. Verificados: {ok}. Fallidos: {bad}. Pendientes: {wait}.",
      play: "Jugada {seq}, {date}",
      ok: "Verificado",
      bad: "Fallo",
      wait: "Pendiente",
      na: "Sin comprobar aquí",
      logOk: "en el registro público ({size} jugadas), firmado por {name}",
      logWait: "aún no está en un punto de control firmado; vuelve a abrir esto en un minuto",
      logNone: "esta tienda no firma su registro",
      drawOk: "la semilla revelada sortea {prize}",
      drawWait: "la semilla se revela al cerrar la época, {date}",
      swapped: "sorteado {drawn}, entregado {awarded}: el premio estaba agotado o sin presupuesto",
      row: "el recibo no coincide con su propio hash",
      proof: "la prueba de inclusión no lleva a la raíz firmada",
      signature: "la firma del punto de control no es válida",
      origin: "el punto de control es de otro registro",
      commit: "la semilla revelada no coincide con su compromiso",
      config: "la tabla de premios no coincide con su hash",
      drawn: "la semilla revelada sortea {prize}, no {drawn}",
      network: "no se ha podido conectar con el servidor",
      noCrypto: "este navegador no puede comprobarlo (sin Ed25519 en Web Crypto)",
      bundle: "Paquete de auditoría, para gamify verify",
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
.verify h3 { margin: .75rem 0 .25rem; font-size: 1rem; }
.verify ul { margin: 0; padding: 0; list-style: none; }
.verify li { margin: .25rem 0; }
.verify .ok { color: var(--gamify-ok, #166534); }
.verify .bad { color: var(--gamify-error, #b91c1c); }
`;

  const DEFAULTS = Object.freeze({
    t: null, // translator from the frame; English when absent
    prefix: "", // where gamify is mounted: {prefix}/api/…
    id: "", // the campaign
    call: null, // the loader's API caller with the shopper's token; no check without it
    latest: 5, // how many of the shopper's plays to check, newest first
    prizes: [], // the campaign's prizes ({id, label}), to name a drawn prize
  });
  // a chain row's fields (CONTRACT §5): a receipt carries them, with its coupon and proof
  const ROW = "seq campaign epoch nonce client_seed player drawn awarded at config_hash prev_hash";
  const V2 = "gamify-fairness-v2";
  const MARKS = { ok: "✓", bad: "✗", wait: "…", na: "?" };

  const english = (key, vars = {}) => STRINGS.en[key].replace(/\{(\w+)\}/g, (_, k) => vars[k]);

  // the frame's element builder (the frame is loaded before any module it loads)
  const h = (...args) => window.gamify.frame.h(...args);

  // -- bytes and hashes ------------------------------------------------------------------------
  const subtle = globalThis.crypto?.subtle;
  const utf8 = (text) => new TextEncoder().encode(text);
  const fromHex = (hex) => Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));
  const toHex = (bytes) =>
    [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const fromB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const join = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  };
  const sha256 = async (...parts) => new Uint8Array(await subtle.digest("SHA-256", join(...parts)));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  // Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
  const canonical = (v) => {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (!v || typeof v !== "object") return JSON.stringify(v);
    const keys = Object.keys(v).sort(); // by UTF-16 code units: code points for these keys
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  };

  // RFC 9162 §2.1.3.2: does `path` lead from leaf `index` of a tree of `size` to `root`?
  const included = async (leaf, index, size, path, root) => {
    if (!(index < size)) return false;
    let [fn, sn, r] = [index, size - 1, leaf];
    for (const p of path) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256([1], p, r);
        while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
      } else r = await sha256([1], r, p);
      [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
    }
    return sn === 0 && same(r, root);
  };

  // A C2SP signed note: its signed text, the checkpoint it holds, its signature lines.
  const parseNote = (note) => {
    const at = note.lastIndexOf("\n\n");
    const text = note.slice(0, at + 1);
    const [origin, size, root] = text.split("\n");
    const signatures = note
      .slice(at + 2)
      .split("\n")
      .map((line) => /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line))
      .filter(Boolean)
      .map(([, name, blob]) => ({ name, blob: fromB64(blob) }));
    return { text, origin, size: Number(size), root: fromB64(root || ""), signatures };
  };

  // Is `note` signed by `key` ({name, ed25519}) over its text? null: Ed25519 unavailable here.
  const signedBy = async (note, key) => {
    let publicKey;
    const raw = fromB64(key.ed25519);
    try {
      publicKey = await subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    } catch {
      return null;
    }
    const id = (await sha256(utf8(`${key.name}\n`), [1], raw)).slice(0, 4);
    const mine = note.signatures.find((s) => s.name === key.name && same(s.blob.slice(0, 4), id));
    return (
      !!mine && subtle.verify({ name: "Ed25519" }, publicKey, mine.blob.slice(4), utf8(note.text))
    );
  };

  // CONTRACT §4 and §12: the index of the prize the seed draws for this row.
  const draw = async (seed, row, weights, algorithm) => {
    const hmac = { name: "HMAC", hash: "SHA-256" };
    const key = await subtle.importKey("raw", fromHex(seed), hmac, false, ["sign"]);
    const who = algorithm === V2 ? `${row.player}:` : "";
    const prefix = `${row.campaign}:${who}${row.client_seed}:${row.nonce}:`;
    const total = weights.reduce((a, w) => a + w, 0n);
    const bound = 2n ** 64n - (2n ** 64n % total);
    for (let k = 0; ; k++) {
      const block = new DataView(await subtle.sign("HMAC", key, utf8(prefix + k)));
      for (let i = 0; i < 32; i += 8) {
        const u = block.getBigUint64(i);
        if (u < bound) {
          let r = u % total;
          return weights.findIndex((w) => (r -= w) < 0n);
        }
      }
    }
  };

  // -- the checks ------------------------------------------------------------------------------
  // Each check resolves to [state, key, vars]: state ok | bad | wait | na.

  // `signed(text, note)`: signedBy's answer for that checkpoint, which receipts share
  const checkLog = async (row, proof, id, key, signed) => {
    if (!key) return ["na", "logNone"];
    if (!proof) return ["wait", "logWait"];
    const note = parseNote(proof.checkpoint);
    if (note.origin !== `${key.name}/${id}`) return ["bad", "origin"];
    const ok = await signed(proof.checkpoint, note);
    if (ok === null) return ["na", "noCrypto"];
    if (!ok) return ["bad", "signature"];
    const leaf = await sha256([0], utf8(canonical(row)));
    const path = proof.hashes.map(fromHex);
    if (!(await included(leaf, row.seq, note.size, path, note.root))) return ["bad", "proof"];
    return ["ok", "logOk", { size: note.size, name: key.name }];
  };

  // `shown`: the commitment this widget showed for the epoch, if it did (a server that swapped
  // an epoch's seed and commitment afterwards is caught here too)
  const checkDraw = async (row, epoch, shown, config, t, label) => {
    if (!epoch?.server_seed) {
      const when = epoch?.closes_at;
      return ["wait", "drawWait", { date: when ? t.date?.(when) ?? when : "" }];
    }
    const hashed = toHex(await sha256(fromHex(epoch.server_seed)));
    if (hashed !== epoch.commitment || (shown && shown !== hashed)) return ["bad", "commit"];
    const table = await config();
    if (!table) return ["bad", "config"];
    const weights = table.prizes.map((p) => BigInt(p.weight));
    const prize = table.prizes[await draw(epoch.server_seed, row, weights, table.algorithm)].id;
    if (prize !== row.drawn) {
      return ["bad", "drawn", { prize: label(prize), drawn: label(row.drawn) }];
    }
    return ["ok", "drawOk", { prize: label(prize) }];
  };

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const t = o.t || english;
    const rows = h("dl");
    const api = `${o.prefix}/api/campaigns/${encodeURIComponent(o.id)}`;
    const link = (href, text) => h("a", { href, target: "_blank", rel: "noopener" }, text);
    const status = h("p", { role: "status" });
    const list = h("ul");
    const mine = h("section", { class: "mine", "aria-labelledby": "verify-mine", hidden: "" }, [
      h("h3", { id: "verify-mine" }, t("mine")),
      status,
      list,
      link(`${api}/audit.jsonl`, t("bundle")),
    ]);
    const box = h("div", { class: "verify" }, [
      rows,
      h("p", {}, t("fairText")),
      link(`${api}/fairness`, t("fairLink")),
      mine,
    ]);
    el.append(box);
    const configs = new Map(); // config_hash → Promise of the parsed table, or null if forged
    const shown = new Map(); // epoch → the commitment shown for it
    let published = null; // Promise of the log's key, asked for once (null: none is signed)
    const logKey = () =>
      (published ||= o.call("log/key").catch((problem) => {
        if (problem.status === 404) return null; // a store that signs nothing
        published = null; // asked again at the next check
        throw problem;
      }));
    const label = (id) => o.prizes.find((p) => p.id === id)?.label ?? id;
    let run = 0;

    // the config version a receipt names, its bytes hashed before they are believed
    const config = (hash) => () => {
      if (!configs.has(hash)) {
        // weights exactly, past 2**53 too, where JSON.parse gives the source text
        const bigWeight = (k, v, context) =>
          k === "weight" && context?.source ? BigInt(context.source) : v;
        const table = fetch(`${api}/configs/${hash}`)
          .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject({ code: "network" })))
          .then(async (bytes) =>
            toHex(await sha256(new Uint8Array(bytes))) === hash
              ? JSON.parse(new TextDecoder().decode(bytes), bigWeight)
              : null,
          );
        table.catch(() => configs.delete(hash));
        configs.set(hash, table);
      }
      return configs.get(hash);
    };

    const line = ([state, key, vars]) =>
      h("li", { class: state }, [
        h("span", { "aria-hidden": "true" }, `${MARKS[state]} `),
        `${t(state)}: ${t(key, vars)}`,
      ]);

    // a run's results are in: `data-checks` counts the runs that ended (for tests and tools)
    const done = () => {
      mine.setAttribute("aria-busy", "false");
      mine.dataset.checks = run;
    };

    // The shopper's latest plays of this campaign, each checked; a newer run replaces an older.
    const check = async () => {
      const mark = ++run;
      mine.hidden = false;
      mine.setAttribute("aria-busy", "true");
      status.textContent = t("checking");
      let found;
      try {
        if (!subtle) throw { code: "crypto" };
        const id = encodeURIComponent(o.id);
        const [receipts, fair, log] = await Promise.all([
          o.call(`me/plays?campaign=${id}`),
          o.call(`campaigns/${id}/fairness`),
          logKey(),
        ]);
        // one signature check per checkpoint note: the receipts' proofs share the latest
        const notes = new Map();
        const signed = (text, note) => {
          if (!notes.has(text)) notes.set(text, signedBy(note, log));
          return notes.get(text);
        };
        const epochs = new Map(fair.epochs.map((e) => [e.epoch, e]));
        found = await Promise.all(
          receipts.plays
            .slice(-o.latest)
            .reverse()
            .map(async (receipt) => {
              const row = Object.fromEntries(ROW.split(" ").map((k) => [k, receipt[k]]));
              const hashed = toHex(await sha256(utf8(canonical(row)))) === receipt.hash;
              row.hash = receipt.hash;
              const inLog = hashed
                ? await checkLog(row, receipt.proof, o.id, log, signed)
                : ["bad", "row"];
              const drawn = hashed
                ? await checkDraw(
                    row,
                    epochs.get(row.epoch),
                    shown.get(row.epoch),
                    config(row.config_hash),
                    t,
                    label,
                  )
                : ["bad", "row"];
              return { row, checks: [inLog, drawn] };
            }),
        );
      } catch (problem) {
        if (mark !== run) return;
        const why = problem?.code === "crypto" ? "noCrypto" : "network";
        status.textContent = `${t("na")}: ${t(why)}`;
        list.replaceChildren();
        return done();
      }
      if (mark !== run) return;
      // a play is verified when all its checks are, failed when one fails, else pending
      const has = (state) => found.filter((f) => f.checks.some(([s]) => s === state)).length;
      const ok = found.filter((f) => f.checks.every(([s]) => s === "ok")).length;
      const bad = has("bad");
      const n = found.length;
      status.textContent = t("checked", { n, ok, bad, wait: n - ok - bad });
      // a verified draw whose prize was swapped for the fallback: why (the bundle proves it)
      const swapped = ({ drawn, awarded }) =>
        h("li", {}, t("swapped", { drawn: label(drawn), awarded: label(awarded) }));
      list.replaceChildren(
        ...found.map(({ row, checks }) =>
          h("li", {}, [
            h("strong", {}, t("play", { seq: row.seq, date: t.date?.(row.at) ?? row.at })),
            h("ul", {}, [
              ...checks.map(line),
              row.drawn !== row.awarded && checks[1][0] === "ok" ? swapped(row) : "",
            ]),
          ]),
        ),
      );
      done();
    };

    return {
      // a play's receipt (or the campaign's, before any): the rows it has; then the checks
      show: (source) => {
        if (source.epoch != null && source.commitment) shown.set(source.epoch, source.commitment);
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
        if (o.call) check();
      },
      destroy: () => box.remove(),
    };
  };

  // the checks themselves, for an auditor's console and the known-answer tests
  const check = Object.freeze({ canonical, included, parseNote, signedBy, draw });
  window.gamify.register("verify", Object.freeze({ create, check, DEFAULTS, STRINGS, CSS }));
})();
