/* gamify loyalty card: the shopper's points, tier and the rewards their points buy.
 *
 *   const card = gamify.loyalty.create(el, { call, signedIn, t, onError, onUpdate });
 *   card.refresh(); card.enable(false); card.destroy();
 *
 * A module of the widget: the loader mounts it for the reserved id `loyalty` (data-campaign=
 * "loyalty"), with no campaign request, and the frame (frame.js) puts it on its stage. The card
 * asks GET /api/me/loyalty (with the customer token) and shows the usable balance, the pending
 * points and what expires next, the tier with a progress bar toward the next one, and the
 * catalogue of rewards. "Redeem" asks for a confirmation on the same button ("Confirm: spend
 * 300 points", or "Cancel"), then sends POST /api/me/loyalty/redeem with an Idempotency-Key
 * that is kept until the server gives a definite answer, so a retry after a lost connection
 * cannot spend twice. The coupon shows in the reward's row with a copy button; what happens is
 * said in one live region. Without a token the card asks the shopper to sign in and sends
 * nothing; a store without a loyalty programme (404 not_found) makes the frame remove the
 * widget. The card asks again when the page becomes visible again.
 *
 * Each new standing fires `gamify:loyalty` ({campaign, loyalty}), each redemption
 * `gamify:redeemed` ({campaign, reward, label, coupon, points, available}); both bubble out of
 * the widget's shadow root.
 */
(() => {
  "use strict";

  const STRINGS = {
    en: {
      title: "Your points",
      available: "points to spend",
      pending: "Pending: {n}",
      pendingHint: "usable after the return window",
      expiring: "Next to expire: {n} on {date}",
      points: "{n} points",
      point: "1 point",
      tier: "Your tier",
      multiplier: "You earn points ×{n}",
      toNext: "{n} to {next}",
      progress: "{now} of {min} points to {next}",
      top: "You are at the top tier.",
      rewards: "Spend your points",
      redeem: "Redeem",
      confirm: "Confirm: spend {n}",
      cancel: "Cancel",
      asking: "Spend {n} on {label}? Confirm or cancel.",
      cancelled: "Nothing was spent.",
      redeeming: "Redeeming {label}…",
      redeemed: "You got {label} for {n}. Your code: {code}",
      short: "You need {n} more.",
      soldOut: "Sold out.",
      signIn: "Sign in to see your points.",
      insufficient: "You do not have enough points for {label} yet.",
      outOfStock: "{label} is sold out.",
      gone: "This reward is no longer available.",
      failed: "We could not load your points. Please try again.",
    },
    es: {
      title: "Tus puntos",
      available: "puntos para gastar",
      pending: "Pendientes: {n}",
      pendingHint: "disponibles cuando acabe el plazo de devolución",
      expiring: "Próxima caducidad: {n} el {date}",
      points: "{n} puntos",
      point: "1 punto",
      tier: "Tu nivel",
      multiplier: "Ganas puntos ×{n}",
      toNext: "{n} para {next}",
      progress: "{now} de {min} puntos para {next}",
      top: "Estás en el nivel más alto.",
      rewards: "Canjea tus puntos",
      redeem: "Canjear",
      confirm: "Confirmar: gastar {n}",
      cancel: "Cancelar",
      asking: "¿Gastar {n} en {label}? Confirma o cancela.",
      cancelled: "No se ha gastado nada.",
      redeeming: "Canjeando {label}…",
      redeemed: "Ya tienes {label} por {n}. Tu código: {code}",
      short: "Te faltan {n}.",
      soldOut: "Agotado.",
      signIn: "Inicia sesión para ver tus puntos.",
      insufficient: "Aún no tienes puntos suficientes para {label}.",
      outOfStock: "{label} está agotado.",
      gone: "Esta recompensa ya no está disponible.",
      failed: "No hemos podido cargar tus puntos. Vuelve a intentarlo.",
    },
  };

  // Problem codes of a redemption (and "network", the frame's text) to messages; any other
  // code is the frame's "error".
  const MESSAGES = {
    network: "network",
    insufficient_points: "insufficient",
    out_of_stock: "outOfStock",
    reward_not_found: "gone",
    invalid_token: "signIn",
  };

  const CSS = `
.loyalty {
  margin-top: .5rem;
  text-align: start;
}
.balance { text-align: center; }
.big {
  margin: 0;
  font-size: 2.75rem;
  font-weight: 800;
  line-height: 1.1;
  font-variant-numeric: tabular-nums;
}
.unit {
  display: block;
  font-size: 1rem;
  font-weight: 600;
}
.small {
  font-size: .875rem;
  color: var(--gamify-muted, #4b5563);
}
.tier {
  margin-top: 1rem;
  padding: .75rem;
  border: 1px solid #9ca3af;
  border-radius: var(--gamify-radius, 12px);
}
.level {
  display: flex;
  flex-wrap: wrap;
  gap: .25rem .75rem;
  align-items: center;
  margin: 0;
}
.badge {
  padding: .1em .7em;
  font-weight: 700;
  color: #3b0764;
  background: #ede9fe;
  border-radius: 999px;
}
.bar {
  height: .625rem;
  margin-top: .5rem;
  overflow: hidden;
  background: #e5e7eb;
  border-radius: 999px;
  box-shadow: inset 0 0 0 1px #9ca3af;
}
.fill {
  width: 0;
  height: 100%;
  background: var(--gamify-accent, #5b21b6);
  border-radius: inherit;
  transition: width .6s ease-out;
}
h3 {
  margin: 1.25rem 0 .5rem;
  font-size: 1.0625rem;
}
.rewards {
  display: grid;
  gap: .75rem;
  margin: 0;
  padding: 0;
  list-style: none;
}
.reward {
  display: grid;
  grid-template-columns: minmax(0, 1fr) auto;
  gap: .25rem .75rem;
  align-items: start;
  padding: .75rem;
  border: 1px solid #9ca3af;
  border-radius: var(--gamify-radius, 12px);
}
.name {
  margin: 0;
  font-weight: 700;
}
.cost {
  margin: 0;
  font-weight: 700;
  white-space: nowrap;
  font-variant-numeric: tabular-nums;
}
.reward > :not(.name, .cost) { grid-column: 1 / -1; }
.actions {
  display: flex;
  flex-wrap: wrap;
  gap: .5rem;
  margin-top: .25rem;
}
.actions button { flex: 1 1 auto; }
.why { margin: 0; }
.reward .coupon {
  justify-content: start;
  margin: .5rem 0 0;
}
.said {
  min-height: 1.5em;
  margin: .75rem 0 0;
  font-weight: 600;
  text-align: center;
}
.said.error { color: var(--gamify-error, #b91c1c); }
.again { display: block; margin: .5rem auto 0; }
.signin {
  margin: .75rem 0 0;
  font-weight: 600;
  text-align: center;
}
@media (prefers-reduced-motion: reduce) {
  .fill { transition: none; }
}
`;

  const DEFAULTS = Object.freeze({
    call: null, // (path, init) => Promise of an API answer (the loader's); rejects with a problem
    signedIn: false, // the widget has a customer token: without one, the card asks to sign in
    t: null, // translator from the frame (its texts and these); English when absent
    onError() {}, // (problem) the card cannot be shown: not_found (no programme), …
    onUpdate() {}, // (view of GET /api/me/loyalty) the card shows a new standing
  });

  const english = (key, vars = {}) =>
    (STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);

  // the frame's h("button", {class: "x", onclick: f}, "text" or [nodes]) (the frame is loaded
  // before the card), and a fresh Idempotency-Key
  const h = (...args) => window.gamify.frame.h(...args);
  const newKey = () =>
    crypto.randomUUID?.() ??
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"))
      .join("");

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const t = o.t || english;
    const number = new Intl.NumberFormat(t.lang || "en");
    // "300 points", "1 point"
    const pts = (n) => (n === 1 ? t("point") : t("points", { n: number.format(n) }));
    // a calendar date of the API ("2027-11-25"), in the shopper's language
    const DAY = { dateStyle: "long", timeZone: "UTC" };
    const day = (iso) =>
      t.date ? t.date(iso, DAY) : new Date(iso).toLocaleDateString(t.lang, DAY);
    let view = null; // the last answer of GET /api/me/loyalty
    let on = true;
    let busy = false;
    const keys = {}; // reward id → the Idempotency-Key of its redemption until it is answered
    const soldOut = new Set();
    const rows = new Map(); // reward id → its row

    const big = h("span");
    const unit = h("span", { class: "unit" }, t("available"));
    const balance = h("p", { class: "big" }, [big, " ", unit]);
    const pending = h("p", { class: "small" });
    const expiring = h("p", { class: "small" });
    const badge = h("span", { class: "badge" });
    const multiplier = h("span", { class: "small" });
    const fill = h("div", { class: "fill" });
    const bar = h("div", { class: "bar", role: "progressbar", "aria-valuemin": "0" }, [fill]);
    const next = h("p", { class: "small" });
    const tier = h("div", { class: "tier" }, [
      h("p", { class: "level" }, [h("span", {}, t("tier")), badge, multiplier]),
      bar,
      next,
    ]);
    const heading = h("h3", { id: "rewards" }, t("rewards"));
    const list = h("ul", { class: "rewards", "aria-labelledby": "rewards" });
    const said = h("p", { class: "said", role: "status", "aria-live": "polite" });
    const again = h("button", {
      type: "button",
      class: "alt again",
      hidden: true,
      onclick: () => {
        say("");
        refresh(true);
      },
    }, t("retry"));
    const signIn = h("p", { class: "signin", hidden: true }, t("signIn"));
    const wait = h("p", { class: "small" }, t("loading"));
    const shown = h("div", { hidden: true }, [
      h("div", { class: "balance" }, [balance, pending, expiring]),
      tier,
      heading,
      list,
    ]);
    const card = h("div", { class: "loyalty" }, [wait, shown, said, again, signIn]);

    // loading, ready (the standing is shown), error (the first request failed), signed-out
    const become = (name) => {
      card.dataset.state = name;
      wait.hidden = name !== "loading";
      signIn.hidden = name !== "signed-out";
      if (name !== "error") shown.hidden = name !== "ready";
    };

    const say = (text, error = false) => {
      said.classList.toggle("error", error);
      said.textContent = text;
    };

    // One row per reward: its name, description, cost, the Redeem button (with Cancel while
    // it asks for a confirmation), why it cannot be redeemed, and its coupon once redeemed.
    let made = 0;
    const row = (reward) => {
      const key = `reward-${made++}`;
      const name = h("p", { class: "name", id: `${key}-name` });
      const about = h("p", { class: "small" });
      const cost = h("p", { class: "cost" });
      const why = h("p", { class: "small why", id: `${key}-why` });
      const go = h("button", {
        type: "button",
        class: "go",
        "aria-describedby": `${key}-name ${key}-why`,
        onclick: () => act(r),
        onkeydown: (e) => {
          if (e.key !== "Escape" || !r.asking) return;
          e.preventDefault(); // a confirmation to cancel, not the dialog to close
          e.stopPropagation();
          cancel(r);
        },
      });
      const stop = h("button", {
        type: "button",
        class: "alt",
        onclick: () => cancel(r),
      }, t("cancel"));
      const note = h("span", { role: "status" });
      const input = h("input", { class: "code", readonly: true, "aria-label": t("code") });
      const coupon = h("p", { class: "coupon", hidden: true }, [
        h("span", {}, t("code")),
        input,
        // the frame's copy: one behaviour for every coupon
        h("button", {
          type: "button",
          class: "alt",
          onclick: () => window.gamify.frame.copyCode(input, note, t),
        }, t("copy")),
        note,
      ]);
      const li = h("li", { class: "reward", "data-reward": reward.id }, [
        name, cost, about, h("div", { class: "actions" }, [go, stop]), why, coupon,
      ]);
      const r = { reward, li, name, about, cost, why, go, stop, coupon, input, note };
      r.asking = false; // "Redeem" became "Confirm: spend …"
      return r;
    };

    // A row's texts and buttons as the standing, the confirmation and the request say.
    const sync = (r) => {
      const { reward } = r;
      const available = view.points.available;
      const out = soldOut.has(reward.id);
      const usable = !out && (reward.affordable ?? available >= reward.cost);
      if (!usable) r.asking = false;
      r.li.dataset.affordable = `${usable}`;
      r.name.textContent = reward.label;
      r.about.textContent = reward.description || "";
      r.about.hidden = !reward.description;
      r.cost.textContent = pts(reward.cost);
      let why = "";
      if (out) why = t("soldOut");
      else if (!usable) why = t("short", { n: pts(reward.cost - available) });
      r.why.textContent = why;
      r.why.hidden = usable;
      r.go.textContent = r.asking ? t("confirm", { n: pts(reward.cost) }) : t("redeem");
      r.go.setAttribute("aria-disabled", `${!usable || busy || !on}`);
      r.stop.hidden = !r.asking;
    };

    // The card as the standing `view` says.
    const render = () => {
      const { points, tier: level, rewards } = view;
      become("ready");
      big.textContent = number.format(points.available);
      pending.textContent = "";
      pending.hidden = !points.pending;
      if (points.pending) {
        pending.append(t("pending", { n: pts(points.pending) }), ` · ${t("pendingHint")}`);
      }
      const soon = points.expiring?.[0];
      expiring.hidden = !soon;
      if (soon) expiring.textContent = t("expiring", { n: pts(soon.points), date: day(soon.on) });

      tier.hidden = !level;
      if (level) {
        badge.textContent = level.label;
        multiplier.hidden = !(level.multiplier > 1);
        multiplier.textContent = t("multiplier", { n: number.format(level.multiplier) });
        const up = level.next;
        bar.hidden = !up;
        next.textContent = up
          ? t("toNext", { n: pts(up.points_needed), next: up.label })
          : t("top");
        if (up) {
          const most = Math.max(up.min, 1);
          const now = Math.min(Math.max(level.qualifying, 0), most);
          bar.setAttribute("aria-valuemax", `${most}`);
          bar.setAttribute("aria-valuenow", `${now}`);
          bar.setAttribute("aria-label", t("progress", {
            now: number.format(now),
            min: number.format(most),
            next: up.label,
          }));
          // the CSSOM, which a strict Content-Security-Policy allows
          fill.style.width = `${(100 * now) / most}%`;
        }
      }

      // the rows are kept (the focus stays on a button across a refresh); put in order only
      // when the catalogue changed
      const wanted = rewards.map((reward) => {
        const r = rows.get(reward.id) || row(reward);
        r.reward = reward;
        rows.set(reward.id, r);
        sync(r);
        return r.li;
      });
      for (const id of rows.keys()) if (!rewards.some((x) => x.id === id)) rows.delete(id);
      const same = list.children.length === wanted.length;
      if (!same || wanted.some((li, i) => list.children[i] !== li)) {
        list.replaceChildren(...wanted);
      }
      heading.hidden = !rewards.length;
    };

    // A new standing from the server: show it, and tell the page.
    const update = (standing) => {
      view = standing;
      render();
      o.onUpdate(view);
      const detail = { campaign: "loyalty", loyalty: view };
      const event = new CustomEvent("gamify:loyalty", { bubbles: true, composed: true, detail });
      el.dispatchEvent(event);
    };

    const signedOut = () => become("signed-out");

    // Ask the server for the standing. The first time, a failure is said with a retry button;
    // later (a refresh) the card keeps what it showed.
    const refresh = async (first = !view) => {
      if (!o.signedIn || !o.call) return signedOut();
      again.hidden = true;
      try {
        update(await o.call("me/loyalty"));
      } catch (problem) {
        if (problem instanceof Error) console.error(problem); // a bug: tell the developer too
        const code = problem?.code;
        if (code === "invalid_token") return signedOut();
        if (code === "not_found") return o.onError(problem); // no programme: nothing to show
        if (!first) return;
        become("error");
        say(t(code === "network" ? "network" : "failed"), true);
        again.hidden = false;
      }
    };

    // "Redeem": ask for the confirmation; "Confirm": send it.
    const act = (r) => {
      if (busy || !on || r.go.getAttribute("aria-disabled") === "true") return;
      if (r.asking) return redeem(r);
      for (const other of rows.values()) other.asking = false;
      r.asking = true;
      rows.forEach(sync);
      say(t("asking", { n: pts(r.reward.cost), label: r.reward.label }));
    };

    const cancel = (r) => {
      r.asking = false;
      sync(r);
      say(t("cancelled"));
      r.go.focus();
    };

    const redeem = async (r) => {
      const { reward } = r;
      const label = reward.label;
      busy = true;
      rows.forEach(sync);
      say(t("redeeming", { label }));
      // kept until the server answers: a retry after a lost connection reuses it
      const key = (keys[reward.id] ||= newKey());
      try {
        const done = await o.call("me/loyalty/redeem", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": key },
          body: JSON.stringify({ reward: reward.id }),
        });
        delete keys[reward.id];
        busy = false;
        r.asking = false;
        view.points.available = done.available;
        for (const other of view.rewards) other.affordable = done.available >= other.cost;
        render();
        r.input.value = done.coupon;
        r.note.textContent = "";
        r.coupon.hidden = false;
        say(t("redeemed", { label, n: pts(done.points), code: done.coupon }));
        const detail = { campaign: "loyalty", label, ...done };
        const event = new CustomEvent("gamify:redeemed", { bubbles: true, composed: true, detail });
        el.dispatchEvent(event);
        refresh(); // the expiring lots and the tier as the server has them now
      } catch (problem) {
        busy = false;
        if (problem instanceof Error) console.error(problem);
        const { code, status } = problem || {};
        if (status < 500) delete keys[reward.id]; // a definite answer: the next try is new
        if (code === "not_found") return o.onError(problem);
        if (code === "invalid_token") return signedOut();
        if (code === "out_of_stock") soldOut.add(reward.id);
        // a network failure or the server's: the confirmation stays, to try again
        if (status < 500) r.asking = false;
        rows.forEach(sync);
        say(t(MESSAGES[code] || "error", { label }), true);
        if (code === "insufficient_points" || code === "reward_not_found") await refresh();
      }
    };

    // a page shown again (an order placed in another tab, a day later): a fresh standing
    const visible = () => document.visibilityState === "visible" && view && refresh();
    document.addEventListener("visibilitychange", visible);

    el.append(card);
    become("loading");
    refresh();

    return {
      refresh,
      enable: (yes) => {
        on = yes;
        if (view) rows.forEach(sync);
      },
      destroy: () => {
        document.removeEventListener("visibilitychange", visible);
        card.remove();
      },
      card,
    };
  };

  window.gamify.register("loyalty", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
