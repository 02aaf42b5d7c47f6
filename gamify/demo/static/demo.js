// The demo store's own script, loaded from a file (the pages send Content-Security-Policy
// `default-src 'self'`, so nothing inline would run).
(() => {
  "use strict";

  // Each product picture's background, from its data-tint, through the CSSOM (a strict CSP
  // blocks style="…" attributes, not element.style).
  for (const picture of document.querySelectorAll("[data-tint]")) {
    picture.style.setProperty("--tint", picture.dataset.tint);
  }

  // The notice after a form (an order, a review): focused, so that it is read out and seen.
  const notice = document.getElementById("notice");
  if (notice) notice.focus();

  // The cart: each coupon a game or a completed challenge gives is "applied" here, once, as
  // text (never as HTML).
  const applied = new Set();
  const apply = (coupon) => {
    const cart = document.getElementById("cart");
    if (!coupon || !cart || applied.has(coupon)) return;
    applied.add(coupon);
    const item = document.createElement("li");
    item.textContent = `${cart.dataset.applied}: ${coupon}`;
    document.getElementById("cart-coupons").append(item);
    document.getElementById("cart-empty").hidden = true;
  };
  document.addEventListener("gamify:result", (event) => {
    apply(event.detail && event.detail.play && event.detail.play.coupon);
  });
  document.addEventListener("gamify:challenge", (event) => {
    const challenge = event.detail && event.detail.challenge;
    const coupon = challenge && challenge.reward && challenge.reward.coupon;
    if (challenge && challenge.status === "completed" && typeof coupon === "string") apply(coupon);
  });
})();
