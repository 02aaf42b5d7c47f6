/* gamify quiz form: the form of a challenge's quiz step, and sending its answers.
 *
 *   const quiz = gamify.quiz.create(el, { step, id, campaign, call, t, left, say, busy,
 *                                         progress, back });
 *   quiz.form; quiz.enable(false); quiz.destroy();
 *
 * A module of the widget: the challenge card (challenge.js) loads this file when the shopper
 * first presses a quiz step's "Take the quiz" (once for every quiz of the page), and the file
 * registers itself with gamify.register. The card keeps the step's row, its progress bar, its
 * rule, the button that shows or hides the form, and the step's live region; this module puts
 * the form in `el`, hidden until the card shows it: each question a fieldset named by its
 * legend, of native radios (arrow keys move between options), and a submit button. Sent, the
 * answers go in one POST through the card's API caller; the result ("2 of 3 right — passed!")
 * or the problem is said in the step's live region, and the card takes the progress the
 * answer carries. The right answers never reach the browser: the server checks them.
 */
(() => {
  "use strict";

  // The quiz's own texts; the others (the attempts left, the sign-in) are the card's, which
  // the card's translator has with the frame's.
  const STRINGS = {
    en: {
      send: "Send answers",
      sending: "Checking your answers…",
      missing: "Answer every question: question {n} has no answer yet.",
      score: "{correct} of {total} right",
      passed: "{score} — passed!",
      failed: "{score}, {left}.",
      allDone: "Challenge completed: your reward is below.",
      quizNetwork: "Your answers were not sent. Check your connection and try again.",
      quizError: "Your answers could not be checked. Please try again.",
    },
    es: {
      send: "Enviar respuestas",
      sending: "Comprobando tus respuestas…",
      missing: "Responde a todas las preguntas: falta la pregunta {n}.",
      score: "{correct} de {total} correctas",
      passed: "{score}: ¡superado!",
      failed: "{score}; {left}.",
      allDone: "Reto completado: tu premio está abajo.",
      quizNetwork: "Tus respuestas no se han enviado. Revisa tu conexión y vuelve a intentarlo.",
      quizError: "No hemos podido comprobar tus respuestas. Vuelve a intentarlo.",
    },
  };

  // Problem codes of the answer (and "network") to messages; any other is "quizError".
  const MESSAGES = {
    network: "quizNetwork",
    invalid_token: "signIn",
    campaign_inactive: "inactive",
  };

  const CSS = `
form { margin-top: .5rem; }
fieldset {
  min-width: 0;
  margin: 0 0 .75rem;
  padding: .5rem .75rem .75rem;
  border: 1px solid #9ca3af;
  border-radius: var(--gamify-radius, 12px);
}
legend {
  padding: 0 .25rem;
  font-weight: 600;
  overflow-wrap: anywhere;
}
.option {
  display: flex;
  gap: .6rem;
  align-items: center;
  min-height: 44px;
  padding: .25rem .5rem;
  border-radius: 8px;
  cursor: pointer;
}
.option:has(:checked) { background: #ede9fe; }
.option input {
  flex: none;
  width: 1.25rem;
  height: 1.25rem;
  margin: 0;
  accent-color: var(--gamify-accent, #5b21b6);
}
`;

  const DEFAULTS = Object.freeze({
    step: null, // the quiz step of the challenge's JSON: {id, quiz: {questions, …}}
    id: "quiz", // the form is `${id}-quiz`, its radio groups `${id}-q0`, `${id}-q1`, …
    campaign: "", // the challenge's id: the answers go to campaigns/<id>/quiz
    call: null, // (path, init) => Promise of an API answer (the loader's); rejects with a problem
    t: null, // the card's translator (its texts and the frame's); the quiz's texts come first
    left: (n) => `${n}`, // (attempts left) => "2 attempts left", as the card's rule says it
    say() {}, // (text, error) says it in the step's live region
    busy() {}, // (yes) the answers are on their way (true), or back (false)
    progress() {}, // (challenge) the card takes the progress an answer carries; asks for it
    // when there is none (returns a Promise, or nothing)
    back() {}, // the form is gone (passed, or no attempts left): the focus to the step
  });

  // the frame's h("input", {type: "radio"}, "text" or [nodes]): the frame is loaded before
  // the card, and the card before this module
  const h = (...args) => window.gamify.frame.h(...args);

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const lang = o.t?.lang;
    // the quiz's texts in the card's language; any other key is the card's (or the frame's)
    const t = (key, vars = {}) => {
      const text = STRINGS[lang]?.[key] ?? STRINGS.en[key];
      if (text == null) return o.t ? o.t(key, vars) : key;
      return text.replace(/\{(\w+)\}/g, (_, k) => vars[k]);
    };
    const date = (iso) => (o.t?.date ? o.t.date(iso) : new Date(iso).toLocaleString());
    const { questions } = o.step.quiz;

    const send = h("button", { type: "submit" }, t("send"));
    const groups = questions.map((question, q) =>
      h("fieldset", {}, [
        h("legend", {}, question.text),
        ...question.options.map((option, k) =>
          h("label", { class: "option" }, [
            h("input", { type: "radio", name: `${o.id}-q${q}`, value: `${k}` }),
            h("span", {}, option),
          ]),
        ),
      ]),
    );
    const form = h("form", {
      id: `${o.id}-quiz`,
      novalidate: true,
      hidden: true,
      onsubmit: (e) => {
        e.preventDefault();
        answer();
      },
    }, [...groups, send]);
    el.append(form);

    // Send the answers; say the result; the card takes the progress the answer carries.
    const answer = async () => {
      // answers on their way (this quiz's or another's), or the card disabled
      if (send.getAttribute("aria-disabled") === "true") return;
      const answers = groups.map((group) => group.querySelector(":checked")?.value);
      const missing = answers.findIndex((a) => a == null);
      if (missing >= 0) {
        o.say(t("missing", { n: missing + 1 }), true);
        groups[missing].querySelector("input").focus();
        return;
      }
      o.busy(true);
      o.say(t("sending"));
      const total = answers.length;
      try {
        const result = await o.call(`campaigns/${encodeURIComponent(o.campaign)}/quiz`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ step: o.step.id, answers: answers.map(Number) }),
        });
        o.busy(false);
        const score = t("score", { correct: result.correct, total });
        let text = t("passed", { score });
        if (!result.passed) text = t("failed", { score, left: o.left(result.attempts_left) });
        if (result.challenge?.status === "completed") text += ` ${t("allDone")}`;
        await o.progress(result.challenge);
        o.say(text);
        // the form is gone once passed or out of attempts: focus goes to the step's label
        if (form.hidden) o.back();
      } catch (problem) {
        o.busy(false);
        const { code, retry_at: retry } = problem || {};
        let text = t(MESSAGES[code] || "quizError");
        if (code === "limit_reached") {
          text = retry ? t("overUntil", { date: date(retry) }) : t("over");
        }
        if (problem instanceof Error) console.error(problem);
        o.say(text, true);
        if (code === "limit_reached" || code === "campaign_inactive") {
          await o.progress();
          if (form.hidden) o.back();
        }
      }
    };

    return {
      form,
      // whether answers may be sent: none on their way (of any quiz), the card enabled
      enable: (yes) => send.setAttribute("aria-disabled", `${!yes}`),
      destroy: () => form.remove(),
    };
  };

  window.gamify.register("quiz", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
