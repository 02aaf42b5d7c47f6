/* gamify scratch card: a canvas cover over the prize, scratched with mouse, touch or pen.
 *
 *   const card = gamify.scratch.create(el, { campaign, play, onResult });
 *   card.reveal(); card.reset(); card.enable(false); card.destroy();
 *
 * A module of the widget: the loader (widget.js) loads this file when a campaign's game is
 * `scratch`, and the file registers itself with gamify.register. The play is created (play(),
 * the POST) when the shopper starts scratching or presses the reveal button, so what lies
 * under the cover is the server's prize. Once about half of the card is scratched (counted on
 * a coarse grid of cells, not by reading pixels) it is revealed. A long prize label wraps, in
 * smaller type if it must, and always stays on the card.
 */
(() => {
  "use strict";

  const STRINGS = {
    en: {
      scratch: "Scratch card: scratch it, or use the button below",
      cover: "Scratch here",
      reveal: "Reveal the prize",
      again: "Play again",
    },
    es: {
      scratch: "Tarjeta de rasca y gana: rasca o usa el botón de abajo",
      cover: "Rasca aquí",
      reveal: "Descubrir el premio",
      again: "Jugar otra vez",
    },
  };

  const CSS = `
.card {
  position: relative;
  max-width: 22rem;
  margin: .75rem auto;
  aspect-ratio: 3 / 2;
  overflow: hidden;
  background: var(--gamify-bg, #fff);
  border: 2px dashed var(--gamify-accent, #5b21b6);
  border-radius: var(--gamify-radius, 12px);
}
.under {
  position: absolute;
  inset: 0;
  display: flex;
  overflow: hidden;
  margin: 0;
  padding: 1rem;
  font-size: 1.5rem;
  font-weight: 700;
  line-height: 1.25;
}
.under span {
  margin: auto;
  min-width: 0;
  overflow-wrap: anywhere;
  hyphens: auto;
}
.cover {
  position: absolute;
  inset: 0;
  display: block;
  width: 100%;
  height: 100%;
  touch-action: none;
  cursor: crosshair;
  transition: opacity .5s;
}
.cover.gone {
  opacity: 0;
  pointer-events: none;
}
@media (prefers-reduced-motion: reduce) {
  .cover {
    transition: none;
  }
}
`;

  const DEFAULTS = Object.freeze({
    campaign: null, // the campaign JSON of GET /api/campaigns/<id>
    play: null, // () => Promise of the play JSON of POST …/plays; rejects with a problem
    t: null, // translator from the loader; English when absent
    brush: 0.07, // brush radius, as a share of the card's width
    threshold: 0.5, // share of the grid scratched that reveals the whole card
    cols: 12, // the grid that measures how much is scratched
    rows: 8,
    cover: "#b8bcc4", // cover colour when --gamify-cover is not set
    minFont: 12, // px: a long label shrinks down to this before it is cut
    onStart() {}, // the play was asked for
    onResult() {}, // (play JSON) the prize is revealed
    onError() {}, // (problem) the play was refused or failed; the cover is whole again
  });

  const english = (key) => STRINGS.en[key];

  // h("button", {class: "x", onclick: f}, "text"): text goes in as text only.
  const h = (tag, attrs = {}, text = "") => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v);
    }
    el.textContent = text;
    return el;
  };

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const t = o.t || english;
    const label = h("span");
    const prize = h("p", { class: "under", "aria-hidden": "true" });
    prize.append(label);
    const canvas = h("canvas", {
      class: "cover",
      role: "img",
      "aria-label": t("scratch"),
      "data-state": "idle",
      onpointerdown: (e) => {
        if (!on || done) return;
        canvas.setPointerCapture(e.pointerId);
        last = [e.offsetX, e.offsetY];
        start();
        scratch(last, last);
      },
      onpointermove: (e) => {
        if (!last) return;
        const next = [e.offsetX, e.offsetY];
        scratch(last, next);
        last = next;
      },
      onpointerup: () => (last = null),
      onpointercancel: () => (last = null),
    });
    const card = h("div", { class: "card" });
    card.append(prize, canvas);
    const button = h("button", { class: "go", onclick: () => (done ? reset() : reveal()) });
    button.textContent = t("reveal");
    const ctx = canvas.getContext("2d");
    const cells = new Set(); // grid cells whose centre the brush has cleared
    let width = 0;
    let height = 0;
    let ratio = 1;
    let last = null; // the pointer's last point while scratching
    let pending = null; // the play request
    let result = null;
    let wanted = false; // reveal as soon as the result is here
    let done = false;
    let on = true;
    el.append(card, button);

    const state = (name) => (canvas.dataset.state = name);
    const sync = () => button.setAttribute("aria-disabled", `${!on}`);

    // The label wraps (anywhere, if a word is longer than the card); while it is still taller
    // than the card, its type gets smaller, down to minFont. Set through the CSSOM, which a
    // strict Content-Security-Policy allows.
    const fitLabel = () => {
      label.style.fontSize = "";
      let px = parseFloat(getComputedStyle(label).fontSize);
      while (prize.scrollHeight > prize.clientHeight && px > o.minFont) {
        px = Math.max(o.minFont, px - 2);
        label.style.fontSize = `${px}px`;
      }
    };

    const paint = () => {
      const style = getComputedStyle(canvas);
      const cw = width / o.cols;
      const ch = height / o.rows;
      ctx.globalCompositeOperation = "source-over";
      ctx.fillStyle = style.getPropertyValue("--gamify-cover").trim() || o.cover;
      ctx.fillRect(0, 0, width, height);
      ctx.fillStyle = "#1f2937";
      ctx.font = `600 ${Math.round(width / 14)}px ${style.fontFamily}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(t("cover"), width / 2, height / 2);
      // cells scratched before a resize stay scratched
      ctx.globalCompositeOperation = "destination-out";
      for (const i of cells) ctx.fillRect((i % o.cols) * cw, Math.floor(i / o.cols) * ch, cw, ch);
    };

    const resize = () => {
      const dpr = devicePixelRatio || 1;
      const w = canvas.clientWidth;
      const hgt = canvas.clientHeight;
      if (!w || (w === width && hgt === height && dpr === ratio)) return;
      [width, height, ratio] = [w, hgt, dpr];
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      paint();
      fitLabel();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(card);

    const scratched = () => cells.size >= o.threshold * o.cols * o.rows;

    const scratch = ([x0, y0], [x1, y1]) => {
      const r = width * o.brush;
      if (!r) return;
      const cw = width / o.cols;
      const ch = height / o.rows;
      ctx.globalCompositeOperation = "destination-out";
      ctx.lineWidth = 2 * r;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
      // mark the cells whose centre lies under the brush, sampling the stroke every r/2
      const steps = Math.ceil((2 * Math.hypot(x1 - x0, y1 - y0)) / r);
      for (let s = 0; s <= steps; s++) {
        const x = x0 + ((x1 - x0) * s) / (steps || 1);
        const y = y0 + ((y1 - y0) * s) / (steps || 1);
        for (let c = Math.max(0, Math.floor((x - r) / cw)); c < o.cols && c * cw <= x + r; c++) {
          for (let q = Math.max(0, Math.floor((y - r) / ch)); q < o.rows && q * ch <= y + r; q++) {
            if (Math.hypot((c + 0.5) * cw - x, (q + 0.5) * ch - y) <= r) cells.add(q * o.cols + c);
          }
        }
      }
      if (result && scratched()) finish();
    };

    // Ask the server for the play (once per card); retried with the same attempt on failure.
    const start = () => {
      if (pending || !on) return;
      state("playing");
      o.onStart();
      pending = o.play().then(
        (answer) => {
          result = answer;
          label.textContent = answer.play.prize.label;
          fitLabel();
          if (wanted || scratched()) finish();
        },
        (problem) => {
          pending = null;
          wanted = false;
          cells.clear();
          paint();
          state("error");
          o.onError(problem);
        },
      );
    };

    const finish = () => {
      if (done) return;
      done = true;
      last = null;
      canvas.classList.add("gone");
      button.textContent = t("again");
      state("revealed");
      o.onResult(result);
    };

    const reveal = () => {
      if (!on || done) return;
      wanted = true;
      if (result) finish();
      else start();
    };

    const reset = () => {
      if (!on) return;
      pending = result = null;
      wanted = done = false;
      cells.clear();
      label.textContent = "";
      canvas.classList.remove("gone");
      button.textContent = t("reveal");
      state("idle");
      paint();
    };

    sync();
    return {
      reveal,
      reset,
      play: reveal,
      enable: (yes) => {
        on = yes;
        sync();
      },
      destroy: () => {
        observer.disconnect();
        card.remove();
        button.remove();
      },
      canvas,
      button,
    };
  };

  window.gamify.register("scratch", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
