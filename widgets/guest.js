/* gamify guest form: play without an account, with an email (CONTRACT §13).
 *
 *   const form = gamify.guest.create(el, { t, guests, terms, play, put, back });
 *   const result = await form.play(); form.destroy();
 *
 * A module of the widget: the frame (frame.js) loads this file when a shopper without a
 * customer token first plays a campaign that takes guests, and the file registers itself with
 * gamify.register. The first play() shows the form, in place, before anything is played, and
 * plays when it is sent, with the fields of the play's body: {email, marketing_consent,
 * age_confirmed}. The email's syntax and the age box are checked here first; the server's
 * refusal of the email (invalid_email: its syntax, a disposable address) or of the age
 * (age_not_confirmed) is said at its field, which gets the focus, and the form waits again.
 * Marketing consent is a box of its own, never ticked beforehand, and playing does not need
 * it. Once a play is made, the next plays of the page reuse the fields without the form: they
 * are kept in memory only, never stored (an email is personal data).
 */
(() => {
  "use strict";

  const STRINGS = {
    en: {
      legend: "Play with your email",
      intro: "No account needed. Fields marked * are required.",
      email: "Email *",
      age: "I am {age} or older *",
      optional: "Optional: you can play without it.",
      terms: "Terms and odds",
      submit: "Play",
      noEmail: "Enter your email to play.",
      badEmail: "Enter a valid email address, such as name@example.com.",
      disposable: "Use an email address of your own, not a disposable one.",
      noAge: "To play, confirm that you are {age} or older.",
    },
    es: {
      legend: "Juega con tu email",
      intro: "No necesitas cuenta. Los campos con * son obligatorios.",
      email: "Email *",
      age: "Tengo {age} años o más *",
      optional: "Opcional: puedes jugar sin marcarlo.",
      terms: "Bases y probabilidades",
      submit: "Jugar",
      noEmail: "Escribe tu email para jugar.",
      badEmail: "Escribe un email válido, como nombre@ejemplo.com.",
      disposable: "Usa un email tuyo, no uno desechable.",
      noAge: "Para jugar, confirma que tienes {age} años o más.",
    },
  };

  const CSS = `
.guest {
  margin: .75rem 0 0;
  text-align: start;
}
.guest fieldset {
  margin: 0;
  padding: .5rem .75rem .75rem;
  border: 1px solid currentColor;
  border-radius: var(--gamify-radius, 12px);
}
.guest legend {
  padding: 0 .25rem;
  font-weight: 600;
}
.guest .email {
  display: block;
  margin-top: .5rem;
  font-weight: 600;
}
.guest input[type=email] {
  width: 100%;
  min-height: 44px;
  padding: .4em .6em;
  font: inherit;
  color: inherit;
  background: var(--gamify-bg, #fff);
  border: 2px solid currentColor;
  border-radius: 6px;
}
.guest [aria-invalid=true] { border-color: var(--gamify-error, #b91c1c); }
.guest .check {
  display: flex;
  gap: .5rem;
  align-items: center;
  min-height: 44px;
  margin-top: .5rem;
  cursor: pointer;
}
.guest input[type=checkbox] {
  flex: none;
  width: 24px;
  height: 24px;
  margin: 0;
  accent-color: var(--gamify-accent, #5b21b6);
}
.guest .note {
  margin: 0 0 0 2rem;
  font-size: .875rem;
}
.guest .error { margin: .25rem 0 0; }
.guest .terms {
  display: inline-block;
  padding: .75rem 0;
}
.guest button { width: 100%; }
`;

  const DEFAULTS = Object.freeze({
    t: null, // translator from the frame; English when absent
    guests: null, // the campaign's `guests`: {consent, min_age, ask_age}
    terms: "", // the address of the campaign's terms page
    play: null, // (fields) => Promise of the play JSON (the loader's); rejects with a problem
    put() {}, // (key) says the frame's text `key` in its status; () clears it
    back() {}, // moves the focus back to the game, once the form is gone
  });
  // problems said at a field of the form, which then waits for the shopper again
  const AT_FIELD = ["invalid_email", "age_not_confirmed"];

  const english = (key, vars = {}) => STRINGS.en[key].replace(/\{(\w+)\}/g, (_, k) => vars[k]);

  // the frame's element builder (the frame is loaded before any module it loads)
  const h = (...args) => window.gamify.frame.h(...args);

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const t = o.t || english;
    const age = o.guests.min_age;
    let answer = null; // resolves the pending ask()

    // a field and the message under it, said as its description when there is one
    const errors = new Map();
    const field = (input, id) => {
      const message = h("p", { id: `${id}-error`, class: "error", hidden: true });
      errors.set(input, message);
      input.addEventListener("input", () => mark(input, ""));
      input.addEventListener("change", () => mark(input, ""));
      return message;
    };
    const mark = (input, text) => {
      const message = errors.get(input);
      message.textContent = text;
      message.hidden = !text;
      if (text) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", message.id);
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    };

    const email = h("input", {
      id: "guest-email",
      name: "email",
      type: "email",
      autocomplete: "email",
      inputmode: "email",
      autocapitalize: "off",
      spellcheck: "false",
      required: true,
      maxlength: "254",
    });
    const consent = h("input", {
      type: "checkbox",
      name: "marketing_consent",
      "aria-describedby": "guest-optional",
    });
    const adult = o.guests.ask_age && h("input", {
      id: "guest-age",
      type: "checkbox",
      name: "age_confirmed",
      required: true,
    });
    const submit = h("button", { type: "submit" }, t("submit"));
    const form = h("form", { class: "guest", novalidate: true, hidden: true, onsubmit: (e) => {
      e.preventDefault();
      send();
    } }, [
      h("fieldset", {}, [
        h("legend", {}, t("legend")),
        h("p", {}, t("intro")),
        h("label", { class: "email", for: "guest-email" }, t("email")),
        email,
        field(email, "guest-email"),
        h("label", { class: "check" }, [consent, h("span", {}, o.guests.consent)]),
        h("p", { id: "guest-optional", class: "note" }, t("optional")),
        adult && h("label", { class: "check" }, [adult, h("span", {}, t("age", { age }))]),
        adult && field(adult, "guest-age"),
      ]),
      o.terms && h("a", { class: "terms", href: o.terms, target: "_blank" }, t("terms")),
      submit,
    ]);
    el.append(form);

    const busy = (yes) => submit.setAttribute("aria-disabled", `${yes}`);

    // Sent: the syntax of the email and the age box are checked here first.
    const send = () => {
      if (!answer || submit.getAttribute("aria-disabled") === "true") return;
      email.value = email.value.trim();
      const { valueMissing, valid } = email.validity;
      mark(email, valid ? "" : t(valueMissing ? "noEmail" : "badEmail"));
      if (adult) mark(adult, adult.checked ? "" : t("noAge", { age }));
      const wrong = [email, adult].find((input) => input && input.getAttribute("aria-invalid"));
      if (wrong) return wrong.focus();
      busy(true);
      answer({
        email: email.value,
        marketing_consent: consent.checked,
        age_confirmed: !!adult?.checked,
      });
      answer = null;
    };

    // Shows the form (with the server's refusal at its field, if any) and waits for it.
    const ask = (problem) => {
      form.hidden = false;
      busy(false);
      let at = email;
      if (problem?.code === AT_FIELD[1] && adult) {
        at = adult;
        mark(adult, t("noAge", { age }));
      } else if (problem?.code === AT_FIELD[0]) {
        mark(email, t(/disposable/i.test(problem.detail) ? "disposable" : "badEmail"));
      }
      at.focus();
      return new Promise((resolve) => (answer = resolve));
    };

    // Hides the form once the play is made; true when the focus was in it (the frame moves it).
    const hide = () => {
      const focused = form.contains(el.getRootNode().activeElement);
      form.hidden = true;
      return focused;
    };

    // play(): the form the first time (and after a refusal), then the play.
    let fields = null; // once given, for the page's next plays
    const play = async () => {
      let problem = null;
      const done = () => hide() && o.back();
      for (;;) {
        if (!fields) {
          o.put();
          fields = await ask(problem);
          o.put("playing");
        }
        try {
          const result = await o.play(fields);
          done();
          return result;
        } catch (failed) {
          // a definite no, but a limit: the form again at the next play
          if (failed.status < 500 && failed.code !== "limit_reached") fields = null;
          if (!AT_FIELD.includes(failed.code)) {
            done();
            throw failed;
          }
          problem = failed;
        }
      }
    };

    return { play, destroy: () => form.remove(), form };
  };

  window.gamify.register("guest", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
