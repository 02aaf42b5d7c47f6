/* gamify spin wheel: a canvas wheel whose segments are the campaign's prizes, in order.
 *
 *   const wheel = gamify.wheel.create(el, { campaign, play, onResult });
 *   wheel.spin(); wheel.enable(false); wheel.destroy();
 *
 * A module of the widget: the loader (widget.js) loads this file when a campaign's game is
 * `wheel`, and the file registers itself with gamify.register. The server draws the prize:
 * spin() first awaits play() (the POST), then eases the wheel to land inside the awarded
 * segment (`play.segment`). The final rotation is exposed on the canvas as data-angle
 * (degrees, clockwise, 0-360) and data-segment. Long labels get smaller type, then two lines,
 * then an ellipsis; the canvas's accessible name always has them in full, and its description
 * (`describedBy`, the frame's "Prizes and odds" list) each slice's odds.
 */
(() => {
  "use strict";

  const STRINGS = {
    en: { spin: "Spin the wheel", wheel: "Prize wheel: {list}" },
    es: { spin: "Girar la ruleta", wheel: "Ruleta de premios: {list}" },
  };

  const CSS = `
.wheel {
  max-width: 22rem;
  margin: .75rem auto;
}
.wheel canvas {
  display: block;
  width: 100%;
}
`;

  const DEFAULTS = Object.freeze({
    campaign: null, // the campaign JSON of GET /api/campaigns/<id>
    play: null, // () => Promise of the play JSON of POST …/plays; rejects with a problem
    t: null, // translator from the loader; English when absent
    turns: 5, // full turns before landing
    duration: 5000, // ms, cubic ease-out
    reducedDuration: 300, // ms with prefers-reduced-motion: reduce (and no extra turns)
    palette: Object.freeze(["#5b21b6", "#0e7490", "#b45309", "#be123c", "#15803d", "#1d4ed8"]),
    describedBy: null, // the id of what describes the wheel: the frame's list of the odds
    onStart() {}, // the play was asked for
    onResult() {}, // (play JSON) the wheel has stopped on the prize
    onError() {}, // (problem) the play was refused or failed; the wheel did not move
  });

  const english = (key, vars = {}) => STRINGS.en[key].replace(/\{(\w+)\}/g, (_, k) => vars[k]);

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
    const prizes = o.campaign.prizes;
    const seg = 360 / prizes.length;
    const rad = Math.PI / 180;
    const canvas = h("canvas", {
      role: "img",
      "aria-label": t("wheel", { list: prizes.map((p) => p.label).join(", ") }),
      "data-angle": "0",
      "data-state": "idle",
    });
    if (o.describedBy) canvas.setAttribute("aria-describedby", o.describedBy);
    const wrap = h("div", { class: "wheel" });
    wrap.append(canvas);
    const button = h("button", { class: "go", onclick: () => spin() }, t("spin"));
    const ctx = canvas.getContext("2d");
    let angle = 0; // current rotation, degrees clockwise
    let size = 0;
    let ratio = 1;
    let busy = false;
    let on = true;
    let labels = []; // per segment: {rows, font, height}
    let pointer = "";
    el.append(wrap, button);

    // black or white text, whichever contrasts more with a segment's colour (WCAG luminance)
    const ink = (color) => {
      ctx.fillStyle = "#000";
      ctx.fillStyle = color; // the canvas normalises any CSS colour to #rrggbb or rgba()
      const css = ctx.fillStyle;
      const hex = (i) => parseInt(css.slice(i, i + 2), 16);
      const rgb = css[0] === "#" ? [hex(1), hex(3), hex(5)] : css.match(/[\d.]+/g);
      const lum = [0.2126, 0.7152, 0.0722].reduce((sum, k, i) => {
        const c = rgb[i] / 255;
        return sum + k * (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      }, 0);
      return lum > 0.179 ? "#000" : "#fff";
    };
    const n = o.palette.length;
    // the palette in turn; the last segment skips the colour of the first, its neighbour
    const colors = prizes.map(
      (p, i) => p.color || o.palette[(i && i === prizes.length - 1 && i % n === 0 ? 1 : i) % n],
    );
    const inks = colors.map(ink);

    // Each label runs along its segment's middle, from near the rim towards the hub. It keeps
    // to where the segment is wide enough for its lines: one line, in smaller type down to 70%;
    // else two lines; else two lines, the second ending in an ellipsis.
    const layout = (r) => {
      const family = getComputedStyle(canvas).fontFamily;
      const end = r * 0.86; // where the text ends, by the rim
      const hub = r * 0.16; // and how near the hub it may start
      const slope = seg < 180 ? Math.tan((seg / 2) * rad) : Infinity;
      const base = Math.max(10, Math.min(r * 0.09, 20));
      const sizes = [];
      for (let px = base; px >= base * 0.7; px -= 1) sizes.push(px);
      const width = (text) => ctx.measureText(text).width;
      // the length a label may take: from where its lines fit across the segment, to the end
      const room = (px, lines) => end - Math.max(hub, (lines * 0.6 * px + 2) / slope);
      // the longest start of `text` no wider than `max` with `tail` after it
      const longest = (text, max, tail = "") => {
        let lo = 0;
        let hi = text.length;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (width(text.slice(0, mid) + tail) <= max) lo = mid;
          else hi = mid - 1;
        }
        return lo;
      };
      // the first line of `text` within `max`: up to its last space that fits, if any
      const first = (text, max) => {
        let cut = longest(text, max);
        const space = text.lastIndexOf(" ", cut);
        if (cut < text.length && space > 0) cut = space;
        return [text.slice(0, cut).trim(), text.slice(cut).trim()];
      };
      const fit = (label) => {
        const text = label.replace(/\s+/g, " ").trim();
        const font = (px) => (ctx.font = `600 ${px}px ${family}`);
        for (const px of sizes) {
          font(px);
          if (width(text) <= room(px, 1)) return { rows: [text], font: ctx.font, height: px };
        }
        for (const px of sizes) {
          font(px);
          const [one, two] = first(text, room(px, 2));
          if (one && width(two) <= room(px, 2)) {
            return { rows: [one, two], font: ctx.font, height: px * 1.2 };
          }
        }
        const px = sizes.at(-1);
        font(px);
        const max = room(px, 2);
        if (max < px * 2) {
          // a segment too narrow for two lines: one, with an ellipsis
          const one = room(px, 1);
          const cut = `${text.slice(0, longest(text, one, "…")).trim()}…`;
          return { rows: [cut], font: ctx.font, height: px };
        }
        const [one, two] = first(text, max);
        const rest = `${two.slice(0, longest(two, max, "…")).trim()}…`;
        return { rows: one ? [one, rest] : [rest], font: ctx.font, height: px * 1.2 };
      };
      labels = prizes.map((p) => fit(p.label));
    };

    const draw = () => {
      const r = size / 2;
      const radius = r - 2;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, size, size);
      ctx.save();
      ctx.translate(r, r);
      ctx.rotate(angle * rad);
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      prizes.forEach((_, i) => {
        const from = (i * seg - 90) * rad; // segment 0 starts at the top, clockwise
        ctx.beginPath();
        ctx.moveTo(0, 0);
        ctx.arc(0, 0, radius, from, from + seg * rad);
        ctx.fillStyle = colors[i];
        ctx.fill();
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 2;
        ctx.stroke();
        ctx.save();
        ctx.rotate(from + (seg / 2) * rad);
        ctx.fillStyle = inks[i];
        const { rows, font, height } = labels[i];
        ctx.font = font;
        rows.forEach((row, k) => ctx.fillText(row, r * 0.86, (k - (rows.length - 1) / 2) * height));
        ctx.restore();
      });
      ctx.restore();
      // the hub, and the pointer at the top (it does not turn)
      ctx.fillStyle = "#fff";
      ctx.beginPath();
      ctx.arc(r, r, r * 0.1, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = pointer;
      ctx.beginPath();
      ctx.moveTo(r - r * 0.07, 0);
      ctx.lineTo(r + r * 0.07, 0);
      ctx.lineTo(r, r * 0.13);
      ctx.fill();
    };

    // Sharp at any devicePixelRatio, and laid out again whenever the container changes size.
    const resize = () => {
      const width = wrap.clientWidth;
      const dpr = devicePixelRatio || 1;
      if (!width || (width === size && dpr === ratio)) return;
      size = width;
      ratio = dpr;
      canvas.width = canvas.height = Math.round(width * dpr);
      canvas.style.height = `${width}px`; // CSSOM, which a strict CSP allows
      pointer = getComputedStyle(canvas).color;
      layout(width / 2);
      draw();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(wrap);

    const sync = () => button.setAttribute("aria-disabled", `${busy || !on}`);

    const spin = async () => {
      if (busy || !on) return;
      busy = true;
      sync();
      canvas.dataset.state = "playing";
      o.onStart();
      let result;
      try {
        result = await o.play();
      } catch (problem) {
        busy = false;
        sync();
        canvas.dataset.state = "error";
        return o.onError(problem);
      }
      const segment = result.play.segment;
      // a random point in the middle 60% of the segment: never on a border
      const at = (segment + 0.2 + 0.6 * Math.random()) * seg;
      const reduced = matchMedia("(prefers-reduced-motion: reduce)").matches;
      const from = angle;
      const to = from + (reduced ? 0 : o.turns * 360) + ((((-at - from) % 360) + 360) % 360);
      const ms = reduced ? o.reducedDuration : o.duration;
      const begin = performance.now();
      canvas.dataset.state = "spinning";
      await new Promise((done) => {
        const frame = (now) => {
          const k = ms > 0 ? Math.min(1, (now - begin) / ms) : 1;
          angle = from + (to - from) * (1 - (1 - k) ** 3);
          if (size) draw();
          if (k < 1) requestAnimationFrame(frame);
          else done();
        };
        requestAnimationFrame(frame);
      });
      angle = to % 360;
      canvas.dataset.angle = angle.toFixed(3);
      canvas.dataset.segment = segment;
      canvas.dataset.state = "done";
      busy = false;
      sync();
      o.onResult(result);
    };

    sync();
    return {
      spin,
      play: spin,
      enable: (yes) => {
        on = yes;
        sync();
      },
      destroy: () => {
        observer.disconnect();
        wrap.remove();
        button.remove();
      },
      canvas,
      button,
    };
  };

  window.gamify.register("wheel", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
