/* gamify widget frame: what is around a game, inline or in a dialog behind a floating button.
 *
 *   gamify.frame.create(shadowRoot, { id, floating, lang, locale, prefix, campaign, play, call,
 *                                     signedIn, seed });
 *
 * A module of the widget: the loader (widget.js) loads it for every widget and hands it the
 * shadow root to fill, the campaign request, the play() of the campaign and the API caller
 * (loader.js). It shows the title, loads the module of the campaign's game (gamify.load(game,
 * root)) and puts the game on its stage, says in one aria-live status region what happens (the
 * result with its coupon, errors, when to come back), fires `gamify:result`, and offers the
 * "Verify this draw" disclosure, whose module (verify.js) is loaded when the shopper opens it,
 * and "Prizes and odds", with the terms page. A floating button's dialog may open by itself
 * (data-trigger, data-show: trigger.js, loaded on such pages only). A guest (no token; a
 * campaign with `guests`) plays through the form of guest.js, loaded at the first play.
 * A challenge (game `challenge`) gets the stage with the API caller: its card (challenge.js)
 * shows the progress, and loads the form of its quiz (quiz.js, which sends the answers) when
 * the shopper first opens it; the loyalty card gets it too (loyalty.js, the reserved id
 * `loyalty`, which has no campaign: the loader hands over {id, game: "loyalty"}).
 * Text always goes in as text, never as HTML.
 */
(() => {
  "use strict";

  // Every text the frame shows or says, by language; each game brings its own (its STRINGS).
  // A new language is one more entry here, in each module, and in the loader's LANGUAGES.
  const STRINGS = {
    en: {
      launcher: "Play and win",
      title: "Your rewards",
      close: "Close",
      loading: "Loading…",
      playing: "Good luck!",
      won: "You won: {label}",
      lost: "{label} — No prize this time.",
      code: "Your code",
      copy: "Copy code",
      copied: "Copied!",
      copyFail: "Select the code and copy it.",
      left: "Plays left: {n}",
      comeBack: "You have used all your plays. Come back on {date}.",
      noMore: "You have used all your plays in this campaign.",
      inactive: "This game is not running right now.",
      token: "Sign in to play.",
      notFound: "This game is not available.",
      network: "We could not connect. Check your connection and try again.",
      error: "Something went wrong. Please try again.",
      retry: "Try again",
      verify: "Verify this draw",
      odds: "Prizes and odds",
      terms: "Terms and odds",
    },
    es: {
      launcher: "Juega y gana",
      title: "Tus recompensas",
      close: "Cerrar",
      loading: "Cargando…",
      playing: "¡Suerte!",
      won: "Has ganado: {label}",
      lost: "{label} — Esta vez no hay premio.",
      code: "Tu código",
      copy: "Copiar código",
      copied: "¡Copiado!",
      copyFail: "Selecciona el código y cópialo.",
      left: "Jugadas restantes: {n}",
      comeBack: "Has usado todas tus jugadas. Vuelve el {date}.",
      noMore: "Has usado todas tus jugadas de esta campaña.",
      inactive: "Este juego no está activo ahora.",
      token: "Inicia sesión para jugar.",
      notFound: "Este juego no está disponible.",
      network: "No hemos podido conectar. Revisa tu conexión y vuelve a intentarlo.",
      error: "Algo ha fallado. Vuelve a intentarlo.",
      retry: "Reintentar",
      verify: "Verifica este sorteo",
      odds: "Premios y probabilidades",
      terms: "Bases y probabilidades",
    },
  };
  // Problem codes of the API (and "network") to messages; any other code is "error".
  const MESSAGES = {
    campaign_inactive: "inactive",
    invalid_token: "token",
    campaign_not_found: "notFound",
    network: "network",
  };

  // The styles of the frame, in every widget's shadow root (each module adds its own), themed
  // from the page by the --gamify-* custom properties (docs/widgets.md).
  const CSS = `
:host {
  all: initial;
  display: block;
  font: 1rem/1.5 var(--gamify-font, system-ui, sans-serif);
  color: var(--gamify-fg, #1f2937);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.panel {
  position: relative;
  max-width: 28rem;
  margin: auto;
  padding: 1rem;
  text-align: center;
  background: var(--gamify-bg, #fff);
  border-radius: var(--gamify-radius, 12px);
}
h2 {
  margin: 0 2rem .25rem;
  font-size: 1.25rem;
}
p { margin: .25rem 0; }
h2, p { overflow-wrap: anywhere; }
button {
  min-height: 44px;
  padding: .5em 1.25em;
  font: inherit;
  font-weight: 600;
  color: var(--gamify-on-accent, #fff);
  background: var(--gamify-accent, #5b21b6);
  border: 2px solid var(--gamify-accent, #5b21b6);
  border-radius: var(--gamify-radius, 12px);
  cursor: pointer;
}
.alt, .close {
  color: inherit;
  background: transparent;
}
[aria-disabled=true] {
  opacity: .5;
  cursor: not-allowed;
}
:focus-visible {
  outline: 3px solid var(--gamify-focus, #1d4ed8);
  outline-offset: 2px;
}
a { color: inherit; }
.launcher {
  position: fixed;
  right: 1rem;
  bottom: calc(1rem + var(--gamify-stack, 0) * 3.5rem);
  z-index: 2147483000;
  border-radius: 999px;
  box-shadow: 0 4px 14px rgb(0 0 0 / .3);
}
dialog {
  width: min(28rem, calc(100vw - 1rem));
  max-height: calc(100vh - 1rem);
  padding: 0;
  color: inherit;
  background: transparent;
  border: 0;
}
dialog::backdrop { background: rgb(0 0 0 / .6); }
.close {
  position: absolute;
  top: .25rem;
  right: .25rem;
  z-index: 1;
  min-width: 44px;
  padding: 0;
  font-size: 1.5rem;
  line-height: 1;
  border-color: transparent;
}
.status {
  min-height: 1.5em;
  margin-top: .75rem;
}
.prize {
  font-size: 1.125rem;
  font-weight: 700;
}
.error { color: var(--gamify-error, #b91c1c); }
.coupon {
  display: flex;
  flex-wrap: wrap;
  gap: .5rem;
  align-items: center;
  justify-content: center;
}
.code {
  width: 12em;
  padding: .4em;
  font: 700 1.125rem ui-monospace, monospace;
  text-align: center;
  color: inherit;
  background: transparent;
  border: 2px dashed currentColor;
  border-radius: 6px;
}
details {
  margin-top: .5rem;
  font-size: .875rem;
  text-align: left;
}
summary {
  padding: .75rem 0;
  text-align: center;
  cursor: pointer;
}
`;

  const DEFAULTS = Object.freeze({
    id: "", // the campaign id
    floating: false, // a floating button and a dialog, rather than inline
    lang: "en", // one of the loader's LANGUAGES
    locale: "en", // the shopper's language tag, for dates (es-MX, …)
    prefix: "", // where gamify is mounted: {prefix}/api/…
    campaign: null, // () => Promise of the campaign JSON; called again to retry
    play: null, // () => Promise of the play JSON; rejects with a problem
    call: null, // (path, init) => Promise of an API answer, for a challenge's or loyalty card
    signedIn: false, // the widget has a customer token
    seed: () => "", // this browser's client seed
    trigger: "", // data-trigger: "exit", "delay:SECONDS" or "scroll:PERCENT" opens the dialog
    show: "", // data-show: how often it may: "always", "once" (the default) or "daily"
  });

  // A translator t(key, {vars}) in `lang`, over the frame's texts and a module's.
  const i18n = (lang, locale, texts = {}) => {
    const t = (key, vars = {}) =>
      (texts[lang]?.[key] ?? STRINGS[lang]?.[key] ?? texts.en?.[key] ?? STRINGS.en[key]).replace(
        /\{(\w+)\}/g,
        (_, k) => vars[k],
      );
    t.lang = lang;
    // a date such as retry_at, in the shopper's language and time zone (or as `options` say)
    t.date = (iso, options = { dateStyle: "medium", timeStyle: "short" }) => {
      let format;
      try {
        format = new Intl.DateTimeFormat(locale, options);
      } catch {
        format = new Intl.DateTimeFormat(lang, options); // a malformed tag such as "es_ES"
      }
      return format.format(new Date(iso));
    };
    return t;
  };

  // h("button", {class: "x", onclick: f}, "text" or [nodes]): text goes in as text nodes only.
  const h = (tag, attrs = {}, kids = []) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v != null && v !== false) el.setAttribute(k, v === true ? "" : v);
    }
    if (typeof kids === "string") el.textContent = kids;
    else el.append(...kids.filter((kid) => kid != null && kid !== false));
    return el;
  };

  const copy = async (input, note, t) => {
    let ok = true;
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
    }
    note.textContent = t(ok ? "copied" : "copyFail");
  };

  const create = (root, options) => {
    const o = { ...DEFAULTS, ...options };
    const { id, lang, locale, prefix } = o;
    const host = root.host;
    let t = i18n(lang, locale);
    const title = h("h2", { id: "title", tabindex: "-1" }, t("loading"));
    const about = h("p");
    const stage = h("div");
    const asking = h("div"); // the guest's form, when it is asked for
    const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
    const odds = h("details", { class: "odds", hidden: true });
    const fair = h("details", { class: "fair", hidden: true, ontoggle: () => verify() }, [
      h("summary", {}, t("verify")),
    ]);
    const panel = h("section", { class: "panel", "aria-labelledby": "title" }, [
      title, about, stage, asking, status, odds, fair,
    ]);
    let game, launcher, dialog, back, receipt, verifier, prizes;
    let armed = true; // the display trigger (trigger.js) may still open the dialog
    const open = (auto) => {
      armed = false;
      back = auto && document.activeElement;
      dialog.showModal();
    };

    if (!o.floating) {
      root.append(panel);
    } else {
      dialog = h("dialog", {
        role: "dialog",
        "aria-modal": "true",
        "aria-labelledby": "title",
        // focus goes back to the button, or to where it was when the dialog opened by itself
        onclose: () => (back && back !== document.body && back.isConnected ? back : launcher)
          .focus(),
        onkeydown: (e) => {
          if (e.key === "Escape") dialog.close();
          if (e.key !== "Tab") return;
          // keep focus inside the dialog: wrap around from the last control to the first
          const all = [...dialog.querySelectorAll("button,a,input,summary")].filter(
            (el) => el.checkVisibility?.() ?? el.offsetParent,
          );
          const at = all.indexOf(root.activeElement);
          if (e.shiftKey ? at <= 0 : at === all.length - 1) {
            e.preventDefault();
            all.at(e.shiftKey ? -1 : 0)?.focus();
          }
        },
      }, [
        h("button", {
          class: "close",
          "aria-label": t("close"),
          onclick: () => dialog.close(),
        }, "×"),
        panel,
      ]);
      launcher = h("button", {
        class: "launcher",
        "aria-haspopup": "dialog",
        onclick: () => open(),
      }, t("launcher"));
      // several floating widgets on one page stack up instead of covering each other (the
      // CSSOM, which a strict CSP allows, unlike a style attribute)
      const stacked = document.querySelectorAll("[data-gamify-launcher]").length;
      host.style.setProperty("--gamify-stack", stacked);
      host.setAttribute("data-gamify-launcher", "");
      root.append(launcher, dialog);
    }

    const put = (...kids) => status.replaceChildren(...kids.filter(Boolean));

    // no plays left: when the next one frees up, or that there are no more
    const later = (when) => (when ? t("comeBack", { date: t.date(when) }) : t("noMore"));

    // An error as a sentence, with a retry button when trying again can help. Nothing to show
    // this shopper (a customer of the holdout group, a store without a loyalty programme): the
    // widget goes, without a trace.
    const say = (problem, retry) => {
      if (problem instanceof Error) console.error(problem); // a bug: tell the developer too
      const { code } = problem;
      if (code === "holdout" || code === "not_found") {
        game?.destroy?.();
        return host.remove();
      }
      const limit = code === "limit_reached";
      const text = limit ? later(problem.retry_at) : t(MESSAGES[code] || "error");
      const again = retry && !limit && (code === "network" || !MESSAGES[code]);
      put(
        h("p", { class: "error" }, text),
        again && h("button", {
          class: "alt",
          onclick: () => {
            put();
            (game?.button || title).focus();
            retry();
          },
        }, t("retry")),
      );
      if (limit || code === "campaign_inactive" || code === "invalid_token") game?.enable(false);
    };

    // The "Verify this draw" disclosure: what the last play (or, before one, the campaign)
    // committed to. Its module is loaded when the shopper first opens it.
    const verify = (source) => {
      if (source) receipt = source;
      if (!fair.open) return;
      verifier ||= window.gamify.load("verify", root).then((kind) =>
        kind.create(fair, {
          t: i18n(lang, locale, kind.STRINGS),
          prefix,
          id,
          call: o.signedIn ? o.call : null, // a signed-in shopper's plays are checked too
          prizes,
        }),
      );
      verifier.then(
        (shown) => shown.show(receipt),
        (problem) => {
          verifier = null;
          fair.open = false;
          say(problem, () => (fair.open = true));
        },
      );
    };

    // The play's result: prize, coupon with a copy button, plays left; and the gamify:result event.
    const show = (result) => {
      const { play, plays_left: left, next_play_at: next } = result;
      const prize = play.prize;
      const note = h("span");
      const code =
        play.coupon &&
        h("input", { class: "code", readonly: true, value: play.coupon, "aria-label": t("code") });
      put(
        h("p", { class: "prize" }, t(prize.win ? "won" : "lost", { label: prize.label })),
        code && h("p", { class: "coupon" }, [
          h("span", {}, t("code")),
          code,
          h("button", { class: "alt", onclick: () => copy(code, note, t) }, t("copy")),
          note,
        ]),
        left != null && h("p", {}, left ? t("left", { n: left }) : later(next)),
      );
      verify(play);
      game.enable(left !== 0);
      const detail = { campaign: id, ...result };
      const event = new CustomEvent("gamify:result", { bubbles: true, composed: true, detail });
      host.dispatchEvent(event);
    };

    // A guest (no token; the campaign takes guests) plays with an email, which the guest
    // form (guest.js, loaded at the first play) asks for once; a refusal of the email or the
    // age is said at its field, anything else here.
    let guest = null; // the form's handle, a Promise
    const guestPlay = (guests, terms) => () =>
      (guest ||= window.gamify.load("guest", root).then((kind) =>
        kind.create(asking, {
          t: i18n(lang, locale, kind.STRINGS),
          guests,
          terms,
          play: o.play,
          put: (text) => put(text && h("p", {}, t(text))),
          back: () => (game.button || title).focus(),
        }),
      )).then((form) => form.play(), (problem) => {
        guest = null;
        throw problem;
      });

    // The campaign is here: load its game's module, then put the game on the stage.
    const start = async (campaign) => {
      const kind = await window.gamify.load(campaign.game, root);
      t = i18n(lang, locale, kind.STRINGS);
      stage.replaceChildren();
      // the loyalty card has no campaign: its module names it
      title.textContent = campaign.title ?? t("title");
      about.textContent = campaign.description || "";
      if (launcher) launcher.textContent = title.textContent;
      // the terms page, next to the API (on the gamify server, wherever the store is)
      const terms =
        campaign.terms_url && new URL(campaign.terms_url, new URL(prefix || ".", location.href));
      terms?.searchParams.set("lang", lang); // in the widget's language, not the browser's
      game = kind.create(stage, {
        campaign,
        t,
        play: !o.signedIn && campaign.guests ? guestPlay(campaign.guests, terms) : o.play,
        call: o.call,
        signedIn: o.signedIn,
        describedBy: "odds", // the wheel's slices: their odds
        onStart: () => put(h("p", {}, t("playing"))),
        onResult: show,
        onError: (problem) => say(problem, () => game.play()),
      });
      // the floating dialog may open by itself (data-trigger): its module, on such pages only
      if (o.trigger && campaign.active !== false && campaign.plays_left !== 0) {
        window.gamify.load("trigger", root).then((trigger) =>
          trigger.create({ ...o, id, armed: () => armed, open: () => open(true) }),
        );
      }
      // a challenge has steps, not draws: its card says the rest itself
      if (!campaign.prizes) return;
      prizes = campaign.prizes;
      // every prize with its odds, and the terms: one tap away, before any play
      const pct = (x) => x.toLocaleString(lang, { style: "percent", maximumFractionDigits: 2 });
      odds.append(
        h("summary", {}, t("odds")),
        h("ul", { id: "odds" }, prizes.map((p) =>
          h("li", {}, `${p.label}: ${pct(p.probability)}`),
        )),
        terms && h("p", {}, [h("a", { href: terms, target: "_blank" }, t("terms"))]),
      );
      odds.hidden = false;
      verify({ ...campaign, client_seed: o.seed() });
      fair.hidden = false;
      if (!campaign.active) say({ code: "campaign_inactive" });
      else if (campaign.plays_left === 0) {
        say({ code: "limit_reached", retry_at: campaign.next_play_at });
      }
    };

    // a customer of the holdout group never sees the campaign: no game, no launcher (say)
    const begin = () =>
      o.campaign()
        .then(start)
        .catch((problem) => say(problem, begin));
    begin();
    return { host, say };
  };

  // h and copyCode, shared with the modules the frame loads after itself (challenge.js and
  // its quiz.js, loyalty.js, verify.js, guest.js)
  const shared = { h, copyCode: copy };
  window.gamify.register("frame", Object.freeze({ create, ...shared, DEFAULTS, STRINGS, CSS }));
})();
