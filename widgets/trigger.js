/* gamify display trigger: a floating game's dialog that opens by itself (CONTRACT §13).
 *
 *   gamify.trigger.create({ id, floating, trigger, show, armed, open });
 *
 * A module of the widget: the frame (frame.js) loads this file only for a floating button
 * whose tag has data-trigger, so no other page pays for it, and the file registers itself with
 * gamify.register. `trigger` is "exit" (a mouse leaving the page through its top edge, on
 * devices with a fine pointer only), "delay:SECONDS" (from the page's start) or
 * "scroll:PERCENT" (of the page scrolled); `show` is how often it may open: "always" (each page
 * view), "once" (the default: never again once it did) or "daily" (once a calendar day). The
 * day it last opened is kept in localStorage per campaign; where storage is blocked, once a
 * page. It opens at most once a page view (`armed()`, which the frame clears when the shopper
 * opens the dialog by hand), and never over another open modal dialog, gamify's or the page's.
 * The dialog has no opening animation, so prefers-reduced-motion has nothing to stop. A value
 * it cannot read is ignored with one console warning naming the attribute.
 */
(() => {
  "use strict";

  const DEFAULTS = Object.freeze({
    id: "", // the campaign: the localStorage key is gamify.shown.<id>
    floating: false, // only a floating button's dialog opens by itself
    trigger: "", // "exit", "delay:SECONDS" or "scroll:PERCENT"
    show: "", // "always", "once" (also when empty) or "daily"
    armed: () => true, // whether the dialog may still open by itself in this page
    open: () => {}, // opens the dialog
  });
  const STRINGS = { en: {}, es: {} }; // nothing to say: it only opens the frame's dialog
  const CSS = "";

  const create = (options) => {
    const o = { ...DEFAULTS, ...options };
    const [, kind, n] = /^(exit|delay|scroll)(?::(\d+\.?\d*))?$/.exec(o.trigger) || [];
    const how = /^(always|daily)$/.test(o.show) ? o.show : "once";
    const warn = (name, value) => console.warn(`gamify: ignored ${name}="${value}"`);
    if (o.show && how !== o.show) warn("data-show", o.show);
    if (!o.floating || !kind || (kind === "exit") === !!n || (kind === "scroll" && n > 100)) {
      return warn("data-trigger", o.trigger);
    }
    const fire = () => {
      // a floating button's dialog is its shadow root's; a modal dialog open anywhere stays on top
      const key = `gamify.shown.${o.id}`;
      const day = new Date().toDateString(); // the shopper's calendar day
      const roots = [...document.querySelectorAll("[data-gamify]")].map((el) => el.shadowRoot);
      if (!o.armed() || [document, ...roots].some((r) => r?.querySelector("dialog:modal"))) {
        return;
      }
      try {
        const last = localStorage.getItem(key);
        if (last && (how === "once" || (how === "daily" && last === day))) return;
        localStorage.setItem(key, day);
      } catch {
        // storage blocked: once a page
      }
      o.open();
    };
    if (kind === "delay") setTimeout(fire, n * 1000 - performance.now());
    else if (kind === "scroll") {
      const depth = () => ((document.documentElement.scrollHeight - innerHeight) * n) / 100;
      addEventListener("scroll", () => scrollY >= depth() && fire(), { passive: true });
    } else if (matchMedia("(pointer: fine)").matches) {
      document.addEventListener("mouseout", (e) => e.relatedTarget || e.clientY > 0 || fire());
    }
  };

  window.gamify.register("trigger", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
