// The demo store's cart: each coupon a game gives is "applied" here, as text (never as HTML).
document.addEventListener("gamify:result", (event) => {
  const coupon = event.detail && event.detail.play && event.detail.play.coupon;
  const cart = document.getElementById("cart");
  if (!coupon || !cart) return;
  const item = document.createElement("li");
  item.textContent = `${cart.dataset.applied}: ${coupon}`;
  document.getElementById("cart-coupons").append(item);
  document.getElementById("cart-empty").hidden = true;
});
