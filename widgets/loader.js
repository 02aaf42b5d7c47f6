/* gamify widget loader.
 *
 * <script src="/gamify/widget.js" data-campaign="…" data-customer="<token>" defer></script>
 * reads its own tag, fetches the campaign and mounts its game (wheel.js, scratch.js) in a
 * Shadow DOM root: inline in `data-target`, or in a dialog opened by a floating button.
 * The server bundles this file, the games and widget.css (as CSS) into one script, in one
 * scope (gamify/web/widget_assets.py). Text always goes in as text, never as HTML.
 */

// Every text the shopper reads or hears. A new language is one more entry here.
const STRINGS = {
  en: {
    launcher: "Play and win",
    close: "Close",
    loading: "Loading…",
    playing: "Good luck!",
    spin: "Spin the wheel",
    wheel: "Prize wheel: {list}",
    scratch: "Scratch card: scratch it, or use the button below",
    cover: "Scratch here",
    reveal: "Reveal the prize",
    again: "Play again",
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
    launcher: "Juega y gana",
    close: "Cerrar",
    loading: "Cargando…",
    playing: "¡Suerte!",
    spin: "Girar la ruleta",
    wheel: "Ruleta de premios: {list}",
    scratch: "Tarjeta de rasca y gana: rasca o usa el botón de abajo",
    cover: "Rasca aquí",
    reveal: "Descubrir el premio",
    again: "Jugar otra vez",
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
// Problem codes of the API (and "network") to messages; any other code is "error".
const MESSAGES = {
  campaign_inactive: "inactive",
  invalid_token: "token",
  campaign_not_found: "notFound",
  network: "network",
};
const GAMES = {}; // filled by wheel.js and scratch.js: {create(el, options), DEFAULTS}
const SEED_KEY = "gamify.client_seed";
const SEED_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A translator t(key, {vars}) in the shopper's language: data-lang, <html lang>, the browser's.
const i18n = (asked) => {
  const tag = asked || document.documentElement.lang || navigator.language || "en";
  const lang = tag.toLowerCase().split(/[-_]/)[0];
  if (!STRINGS[lang]) return i18n("en");
  const t = (key, vars = {}) =>
    (STRINGS[lang][key] ?? STRINGS.en[key]).replace(/\{(\w+)\}/g, (_, k) => vars[k]);
  t.lang = lang;
  // a date such as retry_at, in the shopper's language and time zone
  t.date = (iso) => {
    const options = { dateStyle: "medium", timeStyle: "short" };
    let format;
    try {
      format = new Intl.DateTimeFormat(tag, options);
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

const randomSeed = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(22)), (b) => SEED_CHARS[b & 63]).join("");

// This browser's client seed, kept in localStorage (in memory where storage is blocked).
let memorySeed;
const clientSeed = () => {
  try {
    let seed = localStorage.getItem(SEED_KEY);
    if (!/^[\w-]{1,64}$/.test(seed ?? "")) localStorage.setItem(SEED_KEY, (seed = randomSeed()));
    return seed;
  } catch {
    return (memorySeed ||= randomSeed());
  }
};

// fetch for the API: resolves with the JSON body; rejects with the problem+json body (its
// `code`), {code: "network"} when the server cannot be reached, {code: "error"} otherwise.
const api = (prefix, token, lang) => async (path, init = {}) => {
  const headers = { Accept: "application/json", ...init.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    const signal = AbortSignal.timeout?.(15000);
    response = await fetch(`${prefix}/api/${path}?lang=${lang}`, { ...init, headers, signal });
  } catch {
    throw { code: "network" };
  }
  const body = await response.json().catch(() => null);
  const { ok, status } = response;
  if (!ok || !body) throw { ...body, code: body?.code || "error", status };
  return body;
};

// play() for a game: one POST per attempt. The attempt's Idempotency-Key is kept until the
// server gives a definite answer, so a retry after a lost connection cannot play twice.
const player = (call, id, token) => {
  let key = null;
  return async () => {
    if (!token) throw { code: "invalid_token" };
    key ||= crypto.randomUUID?.() ?? randomSeed() + randomSeed();
    try {
      const body = await call(`campaigns/${encodeURIComponent(id)}/plays`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify({ client_seed: clientSeed() }),
      });
      key = null;
      if (!body.play) throw { code: "error" };
      return body;
    } catch (problem) {
      if (problem.status < 500) key = null;
      throw problem;
    }
  };
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

// Mounts one campaign in `target` (inline), or behind a floating launcher when target is null.
const mount = (target, { campaign: id, customer: token, lang, prefix }) => {
  const t = i18n(lang);
  const call = api(prefix, token, t.lang);
  const host = h("div", { "data-gamify": id });
  const root = host.attachShadow({ mode: "open" });
  const title = h("h2", { id: "title", tabindex: "-1" }, t("loading"));
  const about = h("p");
  const stage = h("div");
  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const rows = h("dl");
  const fair = h("details", { class: "fair", hidden: true }, [
    h("summary", {}, t("verify")),
    rows,
    h("p", {}, t("fairText")),
    h("a", {
      href: `${prefix}/api/campaigns/${encodeURIComponent(id)}/fairness`,
      target: "_blank",
      rel: "noopener",
    }, t("fairLink")),
  ]);
  const panel = h("section", { class: "panel", "aria-labelledby": "title" }, [
    title, about, stage, status, fair,
  ]);
  let game, launcher;
  root.append(h("style", {}, CSS));

  if (target) {
    root.append(panel);
    target.append(host);
  } else {
    const dialog = h("dialog", {
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "title",
      onclose: () => launcher.focus(),
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
      h("button", { class: "close", "aria-label": t("close"), onclick: () => dialog.close() }, "×"),
      panel,
    ]);
    launcher = h("button", {
      class: "launcher",
      "aria-haspopup": "dialog",
      onclick: () => dialog.showModal(),
    }, t("launcher"));
    // several floating widgets on one page stack up instead of covering each other
    const stacked = document.querySelectorAll("[data-gamify-launcher]").length;
    host.style.setProperty("--gamify-stack", stacked);
    host.setAttribute("data-gamify-launcher", "");
    root.append(launcher, dialog);
    document.body.append(host);
  }

  const put = (...kids) => status.replaceChildren(...kids.filter(Boolean));
  // no plays left: when the next one frees up, or that there are no more
  const later = (when) => (when ? t("comeBack", { date: t.date(when) }) : t("noMore"));

  // An error as a sentence, with a retry button when trying again can help.
  const say = (problem, retry) => {
    if (problem instanceof Error) console.error(problem); // a bug: tell the developer too
    const { code } = problem;
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

  const verify = (source) => {
    const items = [
      ["commitment", source.commitment],
      ["epoch", source.epoch],
      ["nonce", source.nonce],
      ["seed", source.client_seed ?? clientSeed()],
    ];
    rows.replaceChildren(
      ...items.flatMap(([key, value]) =>
        value == null ? [] : [h("dt", {}, t(key)), h("dd", {}, `${value}`)],
      ),
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
    host.dispatchEvent(new CustomEvent("gamify:result", { bubbles: true, composed: true, detail }));
  };

  const start = (campaign) => {
    const kind = GAMES[campaign.game];
    if (!kind) return say({ code: "error" });
    stage.replaceChildren();
    title.textContent = campaign.title;
    about.textContent = campaign.description || "";
    if (launcher) launcher.textContent = campaign.title;
    game = kind.create(stage, {
      campaign,
      t,
      play: player(call, id, token),
      onStart: () => put(h("p", {}, t("playing"))),
      onResult: show,
      onError: (problem) => say(problem, () => game.play()),
    });
    verify(campaign);
    fair.hidden = false;
    if (!campaign.active) say({ code: "campaign_inactive" });
    else if (campaign.plays_left === 0) {
      say({ code: "limit_reached", retry_at: campaign.next_play_at });
    }
  };

  const load = () =>
    call(`campaigns/${encodeURIComponent(id)}`)
      .then(start)
      .catch((problem) => say(problem, load));
  load();
  return host;
};

// Each <script src="…/widget.js" data-campaign=…> mounts its own widget: one page can hold several.
const script =
  document.currentScript ||
  [...document.querySelectorAll("script[data-campaign]")].find((s) => !s.gamify);
const PREFIX = script ? script.src.replace(/\/widget(\.\w+)?\.js([?#].*)?$/, "") : "";
const boot = () => {
  Object.assign((window.gamify ||= {}), GAMES, {
    mount: (target, options) => mount(target, { prefix: PREFIX, ...options }),
  });
  if (!script || script.gamify) return;
  script.gamify = true;
  const { campaign, customer, lang, target } = script.dataset;
  let el = null;
  try {
    el = target && document.querySelector(target);
  } catch {} // an invalid selector: fall back to the launcher
  if (campaign) mount(el, { campaign, customer, lang, prefix: PREFIX });
};
// after the whole bundle has run (the games register below) and the page is parsed
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else Promise.resolve().then(boot);
