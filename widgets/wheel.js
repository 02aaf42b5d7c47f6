/* gamify spin wheel: a canvas wheel whose segments are the campaign's prizes, in order.
 *
 * const wheel = gamify.wheel.create(el, { campaign, play, onResult });
 * wheel.spin(); wheel.enable(false); wheel.destroy();
 *
 * The server draws the prize: spin() first awaits play() (the POST), then eases the wheel
 * to land inside the awarded segment (`play.segment`). The final rotation is exposed on the
 * canvas as data-angle (degrees, clockwise, 0-360) and data-segment.
 */

const WHEEL_DEFAULTS = Object.freeze({
  campaign: null, // the campaign JSON of GET /api/campaigns/<id>
  play: null, // () => Promise of the play JSON of POST …/plays; rejects with a problem
  t: null, // translator from the loader; English when absent
  turns: 5, // full turns before landing
  duration: 5000, // ms, cubic ease-out
  reducedDuration: 300, // ms with prefers-reduced-motion: reduce (and no extra turns)
  palette: Object.freeze(["#5b21b6", "#0e7490", "#b45309", "#be123c", "#15803d", "#1d4ed8"]),
  onStart() {}, // the play was asked for
  onResult() {}, // (play JSON) the wheel has stopped on the prize
  onError() {}, // (problem) the play was refused or failed; the wheel did not move
});

const wheelCreate = (el, options) => {
  const o = { ...WHEEL_DEFAULTS, ...options };
  const t = o.t || i18n();
  const prizes = o.campaign.prizes;
  const seg = 360 / prizes.length;
  const rad = Math.PI / 180;
  const canvas = h("canvas", {
    role: "img",
    "aria-label": t("wheel", { list: prizes.map((p) => p.label).join(", ") }),
    "data-angle": "0",
    "data-state": "idle",
  });
  const wrap = h("div", { class: "wheel" }, [canvas]);
  const button = h("button", { class: "go", onclick: () => spin() }, t("spin"));
  const ctx = canvas.getContext("2d");
  let angle = 0; // current rotation, degrees clockwise
  let size = 0;
  let ratio = 1;
  let busy = false;
  let on = true;
  let labels = [];
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
      ctx.font = labels[i][1];
      ctx.fillText(labels[i][0], radius - r * 0.14, 0);
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

  // Sharp at any devicePixelRatio, and redrawn whenever the container changes size.
  const resize = () => {
    const width = wrap.clientWidth;
    const dpr = devicePixelRatio || 1;
    if (!width || (width === size && dpr === ratio)) return;
    size = width;
    ratio = dpr;
    canvas.width = canvas.height = Math.round(width * dpr);
    canvas.style.height = `${width}px`;
    const r = width / 2;
    const base = Math.max(10, Math.min(r * 0.09, r * 0.7 * seg * rad * 0.5, 20));
    const family = getComputedStyle(canvas).fontFamily;
    const max = r * 0.68; // from the hub to the pointer's ring
    // a long label gets a smaller font (down to 70%), then an ellipsis
    const fit = (label) => {
      let px = base;
      const measure = (text) => {
        ctx.font = `600 ${px}px ${family}`;
        return ctx.measureText(text).width;
      };
      while (measure(label) > max && px > base * 0.7) px--;
      if (measure(label) > max) {
        while (label && measure(`${label}…`) > max) label = label.slice(0, -1);
        label += "…";
      }
      return [label, ctx.font];
    };
    pointer = getComputedStyle(canvas).color;
    labels = prizes.map((p) => fit(p.label));
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

GAMES.wheel = { create: wheelCreate, DEFAULTS: WHEEL_DEFAULTS };
