// The demo store's own script, loaded from a file (the pages send Content-Security-Policy
// `default-src 'self'`, so nothing inline would run).
(() => {
  "use strict";

  // Each product picture's background, from its data-tint, through the CSSOM (a strict CSP
  // blocks style="…" attributes, not element.style).
  for (const picture of document.querySelectorAll("[data-tint]")) {
    picture.style.setProperty("--tint", picture.dataset.tint);
  }

  // The cart: each coupon a game gives is "applied" here, as text (never as HTML).
  document.addEventListener("gamify:result", (event) => {
    const coupon = event.detail && event.detail.play && event.detail.play.coupon;
    const cart = document.getElementById("cart");
    if (!coupon || !cart) return;
    const item = document.createElement("li");
    item.textContent = `${cart.dataset.applied}: ${coupon}`;
    document.getElementById("cart-coupons").append(item);
    document.getElementById("cart-empty").hidden = true;
  });
})();
