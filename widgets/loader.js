/* gamify widget loader: the one script a storefront loads.
 *
 *   <script src="/gamify/widget.js" data-campaign="…" data-customer="<token>" defer></script>
 *
 * It stays small because every page of a store may carry it. It reads its own tag, asks the
 * API for the campaign and, at the same time, loads the module of the widget's frame
 * (frame.js: the inline panel or the floating button and its dialog, messages, results); the
 * frame then loads the module of the campaign's game (wheel.js, scratch.js, or challenge.js,
 * the card of a challenge, which gets the API caller and loads its quiz's form, quiz.js, when
 * the shopper first opens it) and, when the shopper opens it, the "Verify this draw" panel
 * (verify.js), and the form of a guest's first play (guest.js: a shopper without a token, a
 * campaign that takes guests; player() then sends the email). The tag's data-trigger and
 * data-show go to the frame, which then loads trigger.js to open a floating button's dialog
 * by itself. The reserved id `loyalty` is no campaign: the frame mounts the loyalty card
 * (loyalty.js) at once, inline, where its tag is. Each module is a file of its own that
 * registers itself: gamify.register(name, module). The server serves the modules under their
 * content hashes, next to this script (gamify/web/widget_assets.py, docs/widgets.md).
 *
 * It runs under a strict Content-Security-Policy (`default-src 'self'`, or nonces): the
 * modules' <script> elements carry this tag's nonce, styles are constructable stylesheets
 * adopted by each widget's shadow root, no markup is parsed from strings, no inline handler,
 * no eval.
 */
(() => {
  "use strict";

  // The modules the server offers, name → content hash; the server writes them in here.
  const MODULES = {};
  // The languages the widget speaks: frame.js and every module have texts for each.
  const LANGUAGES = ["en", "es"];
  const SEED_KEY = "gamify.client_seed";
  const SEED_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const LOYALTY = "loyalty"; // the loyalty card's id (gamify.core.loyalty.LOYALTY_ID)

  // The tag that runs now: it mounts its own widget, so one page can hold several.
  const script =
    document.currentScript ||
    [...document.querySelectorAll("script[data-campaign]")].find((s) => !s.gamify);
  const PREFIX = script ? script.src.replace(/\/widget(\.\w+)?\.js([?#].*)?$/, "") : "";
  // the page's CSP nonce (`.nonce`: browsers hide the attribute), for the modules' scripts
  const NONCE = script?.nonce || null;

  // One constructable stylesheet per text, shared by every shadow root that adopts it: what a
  // strict CSP allows (a <style> element or a style attribute would be blocked).
  const sheets = new Map();
  const adopt = (root, css) => {
    if (!root || !css) return;
    let sheet = sheets.get(css);
    if (!sheet) {
      sheets.set(css, (sheet = new CSSStyleSheet()));
      sheet.replaceSync(css);
    }
    if (!root.adoptedStyleSheets.includes(sheet)) {
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    }
  };

  // The modules. Each file calls gamify.register(name, module) when it runs; load(name, root)
  // adds its <script> the first time, resolves with the module, and puts the module's styles
  // (its CSS) in `root`, the shadow root it is for. It rejects with {code: "network"} when the
  // file cannot be fetched (a later call tries again), {code: "error"} for an unknown name.
  const modules = {};
  const loading = {};
  const register = (name, module) => {
    modules[name] = module;
    window.gamify[name] = module;
  };
  const fetchModule = (name) =>
    new Promise((resolve, reject) => {
      if (modules[name]) return resolve(modules[name]);
      if (!MODULES[name]) return reject({ code: "error" });
      const tag = document.createElement("script");
      const fail = (problem) => {
        delete loading[name];
        tag.remove();
        reject(problem);
      };
      tag.src = `${PREFIX}/widgets/${name}.${MODULES[name]}.js`;
      if (NONCE) tag.nonce = NONCE;
      tag.addEventListener("load", () =>
        modules[name] ? resolve(modules[name]) : fail({ code: "error" }),
      );
      tag.addEventListener("error", () => fail({ code: "network" }));
      document.head.append(tag);
    });
  const load = (name, root) =>
    (loading[name] ||= fetchModule(name)).then((module) => {
      adopt(root, module.CSS);
      return module;
    });

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
      const url = `${prefix}/api/${path}${path.includes("?") ? "&" : "?"}lang=${lang}`;
      response = await fetch(url, { ...init, headers, signal });
    } catch {
      throw { code: "network" };
    }
    const body = await response.json().catch(() => null);
    const { ok, status } = response;
    if (!ok || !body) throw { ...body, code: body?.code || "error", status };
    return body;
  };

  // play(guest) for a game: one POST per attempt. The attempt's Idempotency-Key is kept until
  // the server gives a definite answer, so a retry after a lost connection cannot play twice.
  // Without a token, a guest plays with `guest`: {email, marketing_consent, age_confirmed}.
  const player = (call, id, token) => {
    let key = null;
    return async (guest) => {
      if (!token && !guest) throw { code: "invalid_token" };
      key ||= crypto.randomUUID?.() ?? randomSeed() + randomSeed();
      try {
        const body = await call(`campaigns/${encodeURIComponent(id)}/plays`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": key },
          body: JSON.stringify({ ...(token ? {} : guest), client_seed: clientSeed() }),
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

  // Mounts one campaign in `target` (inline), or behind a floating button when target is null
  // (the loyalty card: inline at the end of the page): a host element whose shadow root the
  // frame (frame.js) fills. Returns the host.
  const mount = (target, options) => {
    const { campaign: id, customer: token, lang: asked, prefix = PREFIX, trigger, show } = options;
    // the shopper's language: data-lang, <html lang>, the browser's; English when we lack it
    const tag = asked || document.documentElement.lang || navigator.language || "en";
    const primary = tag.toLowerCase().split(/[-_]/)[0];
    const lang = LANGUAGES.includes(primary) ? primary : "en";
    const call = api(prefix, token, lang);
    const host = document.createElement("div");
    host.setAttribute("data-gamify", id);
    const root = host.attachShadow({ mode: "open" });
    (target || document.body).append(host);
    // the campaign request goes out with the frame's module; the frame may ask again (retry).
    // The loyalty card has no campaign: its module asks for the points itself.
    const loyalty = id === LOYALTY;
    const path = `campaigns/${encodeURIComponent(id)}`;
    const ask = () => (loyalty ? Promise.resolve({ id, game: id }) : call(path));
    let first = ask();
    first.catch(() => {}); // the frame reports it
    const campaign = () => {
      const request = first || ask();
      first = null;
      return request;
    };
    // the frame's module; should its script not load, twice more, 2 then 4 seconds later
    const frame = (wait) =>
      load("frame", root).then(
        (module) =>
          module.create(root, {
            id,
            floating: !target && !loyalty,
            lang,
            locale: lang === primary ? tag : lang,
            prefix,
            campaign,
            play: player(call, id, token),
            call,
            signedIn: !!token,
            seed: clientSeed,
            trigger,
            show,
          }),
        (problem) =>
          wait > 4000
            ? console.warn("gamify: the widget could not load", problem)
            : setTimeout(() => frame(wait * 2), wait),
      );
    frame(2000);
    return host;
  };

  // window.gamify: the first loader of the page defines it; another tag (a second game) uses
  // the same one, so that every module registers in one place.
  const gamify = window.gamify?.register
    ? window.gamify
    : Object.assign((window.gamify ||= {}), {
      register,
      load,
      mount: (target, options) => mount(target, { prefix: PREFIX, ...options }),
    });

  const boot = () => {
    if (!script || script.gamify) return;
    script.gamify = true;
    const { campaign, customer, lang, target, trigger, show } = script.dataset;
    let el = null;
    try {
      el = target && document.querySelector(target);
    } catch {
      // an invalid selector: fall back to the floating button
    }
    if (!campaign) return;
    const host = gamify.mount(el, { campaign, customer, lang, prefix: PREFIX, trigger, show });
    // the loyalty card without a data-target goes where its tag is
    if (!el && campaign === LOYALTY && script.closest("body")) script.before(host);
  };
  // once the page is parsed (the target exists); at once for a deferred or async tag
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
