/* gamify challenge card: a challenge's steps, the shopper's progress, its quiz and its reward.
 *
 *   const card = gamify.challenge.create(el, { campaign, call, signedIn, t, onProgress });
 *   card.update(item); card.refresh(); card.enable(false); card.destroy();
 *
 * A module of the widget: the frame (frame.js) loads this file when a campaign's game is
 * `challenge`, and the file registers itself with gamify.register. The card shows the time
 * left, each step with a progress bar (a check mark once done), the status and the reward,
 * with its coupon once the challenge is completed. A quiz step has its rule ("Get 2 of 3
 * right to pass; 3 attempts left."), a "Take the quiz" button and a live region; the form is
 * quiz.js's, loaded when the shopper first presses the button (once for every quiz of the
 * page; the button is aria-disabled meanwhile, and a failure is said with a "Try again"). The
 * form sends the answers with the API caller, says the result ("2 of 3 right — passed!") in
 * the step's live region, and the card takes the progress the answer carries.
 *
 * The shopper's progress is the campaign's `progress` (GET /api/campaigns/<id> with a token),
 * else their item of GET /api/me/challenges; the card asks again when the page becomes visible
 * again (an order placed in another tab). Each time it has the progress, its element fires
 * `gamify:challenge` ({campaign, challenge}), which bubbles out of the widget's shadow root.
 */
(() => {
  "use strict";

  const STRINGS = {
    en: {
      notStarted: "Not started",
      inProgress: "In progress",
      completed: "Completed",
      expired: "Expired",
      upcoming: "Coming soon",
      daysLeft: "{n} days left",
      dayLeft: "1 day left",
      hoursLeft: "{n} hours left",
      hourLeft: "1 hour left",
      soon: "Less than an hour left",
      until: "until {date}",
      ended: "Ended on {date}",
      starts: "Starts on {date}",
      steps: "Steps",
      of: "{n} of {target}",
      done: "done",
      reward: "Reward: {label}",
      rewarded: "Challenge completed! Your reward: {label}",
      signIn: "Sign in to take part.",
      open: "Take the quiz",
      hide: "Hide the quiz",
      rule: "Get {pass} of {total} right to pass; {left}.",
      attemptsLeft: "{n} attempts left",
      attemptLeft: "1 attempt left",
      noneLeft: "no attempts left",
      over: "You have no attempts left.",
      overUntil: "You have no attempts left until {date}.",
    },
    es: {
      notStarted: "Sin empezar",
      inProgress: "En curso",
      completed: "Completado",
      expired: "Terminado",
      upcoming: "Muy pronto",
      daysLeft: "Quedan {n} días",
      dayLeft: "Queda 1 día",
      hoursLeft: "Quedan {n} horas",
      hourLeft: "Queda 1 hora",
      soon: "Queda menos de una hora",
      until: "hasta el {date}",
      ended: "Terminó el {date}",
      starts: "Empieza el {date}",
      steps: "Pasos",
      of: "{n} de {target}",
      done: "hecho",
      reward: "Premio: {label}",
      rewarded: "¡Reto completado! Tu premio: {label}",
      signIn: "Inicia sesión para participar.",
      open: "Hacer el test",
      hide: "Ocultar el test",
      rule: "Acierta {pass} de {total} para superarlo; {left}.",
      attemptsLeft: "te quedan {n} intentos",
      attemptLeft: "te queda 1 intento",
      noneLeft: "no te quedan intentos",
      over: "No te quedan intentos.",
      overUntil: "No te quedan intentos hasta el {date}.",
    },
  };
  // the status of GET /api/me/challenges → its text
  const STATUS = {
    not_started: "notStarted",
    in_progress: "inProgress",
    completed: "completed",
    expired: "expired",
  };

  const CSS = `
.challenge {
  margin-top: .75rem;
  text-align: left;
}
.meta {
  display: flex;
  flex-wrap: wrap;
  gap: .25rem .75rem;
  align-items: center;
  justify-content: center;
  margin: 0 0 .75rem;
  text-align: center;
}
.badge {
  padding: .1em .7em;
  font-size: .875rem;
  font-weight: 700;
  color: #3b0764;
  background: #ede9fe;
  border-radius: 999px;
}
[data-status=completed] .badge { color: #14532d; background: #dcfce7; }
[data-status=expired] .badge, [data-status=upcoming] .badge { color: #374151; background: #f3f4f6; }
.steps {
  display: grid;
  gap: .75rem;
  margin: 0;
  padding: 0;
  list-style: none;
}
.step {
  display: grid;
  grid-template-columns: 2rem minmax(0, 1fr);
  gap: .75rem;
  align-items: start;
}
.mark {
  display: grid;
  place-items: center;
  width: 2rem;
  height: 2rem;
  font-weight: 700;
  color: var(--gamify-accent, #5b21b6);
  border: 2px solid currentColor;
  border-radius: 50%;
}
.step[data-done=true] .mark {
  color: var(--gamify-on-accent, #fff);
  background: var(--gamify-accent, #5b21b6);
  border-color: var(--gamify-accent, #5b21b6);
}
.head {
  display: flex;
  gap: .5rem;
  justify-content: space-between;
  font-weight: 600;
}
.head span:first-child { overflow-wrap: anywhere; }
.count {
  flex: none;
  font-weight: 400;
  font-variant-numeric: tabular-nums;
}
.bar {
  height: .5rem;
  margin-top: .35rem;
  overflow: hidden;
  background: #e5e7eb;
  border-radius: 999px;
  box-shadow: inset 0 0 0 1px #9ca3af;
}
.fill {
  width: 0;
  height: 100%;
  background: var(--gamify-accent, #5b21b6);
  border-radius: inherit;
  transition: width .6s ease-out;
}
.note {
  margin: .35rem 0 0;
  font-size: .875rem;
}
.sr {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip-path: inset(50%);
  white-space: nowrap;
}
.open { margin-top: .5rem; }
.said {
  min-height: 1.5em;
  margin: .5rem 0 0;
  font-weight: 600;
}
.said:empty {
  min-height: 0;
  margin: 0;
}
.said.error { color: var(--gamify-error, #b91c1c); }
.said .alt {
  display: block;
  margin-top: .5rem;
}
.prize {
  margin-top: 1rem;
  padding: .75rem;
  text-align: center;
  border: 2px dashed var(--gamify-accent, #5b21b6);
  border-radius: var(--gamify-radius, 12px);
}
.prize p { margin: 0 0 .5rem; font-weight: 700; }
.prize p:last-child { margin-bottom: 0; }
.signin {
  margin: .75rem 0 0;
  font-weight: 600;
  text-align: center;
}
@media (prefers-reduced-motion: reduce) {
  .fill { transition: none; }
}
`;

  const DEFAULTS = Object.freeze({
    campaign: null, // the campaign JSON of GET /api/campaigns/<id> (game: challenge)
    call: null, // (path, init) => Promise of an API answer (the loader's); rejects with a problem
    signedIn: false, // the widget has a customer token: the card shows progress and the quiz
    t: null, // translator from the frame (its texts and these); English when absent
    onProgress() {}, // (item of GET /api/me/challenges) the card shows new progress
  });

  const english = (key, vars = {}) =>
    (STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);

  // the frame's h("button", {class: "x", onclick: f}, "text" or [nodes]): the frame is loaded
  // before any module it shows, so its helpers are there when the card is made
  const h = (...args) => window.gamify.frame.h(...args);

  const create = (el, options) => {
    const o = { ...DEFAULTS, ...options };
    const t = o.t || english;
    const campaign = o.campaign;
    const id = campaign.id;
    const date = (iso) => (t.date ? t.date(iso) : new Date(iso).toLocaleString());
    const number = new Intl.NumberFormat(t.lang || "en", { maximumFractionDigits: 2 });
    let item = null; // the shopper's progress: an item of GET /api/me/challenges
    let on = true;
    let busy = false;

    const badge = h("span", { class: "badge" });
    const left = h("time");
    const steps = h("ol", { class: "steps", "aria-label": t("steps") });
    const headline = h("p");
    const copied = h("span", { role: "status" });
    const input = h("input", { class: "code", readonly: true, "aria-label": t("code") });
    const coupon = h("p", { class: "coupon", hidden: true }, [
      h("span", {}, t("code")),
      input,
      h("button", { type: "button", class: "alt", onclick: () => copy() }, t("copy")),
      copied,
    ]);
    const prize = h("div", { class: "prize" }, [headline, coupon]);
    const signIn = h("p", { class: "signin" }, t("signIn"));
    const card = h("div", { class: "challenge" }, [
      h("p", { class: "meta" }, [badge, left]),
      steps,
      prize,
      signIn,
    ]);

    // A quiz step: the rule, a button that shows the form, the form's place (quiz.js puts
    // it there), and the live region where the answers' result is said.
    const quiz = (row, key) => {
      const note = h("p", { class: "note" });
      const said = h("p", { class: "said", role: "status", "aria-live": "polite" });
      const place = h("div");
      const toggle = h("button", {
        type: "button",
        class: "alt open",
        "aria-expanded": "false",
        "aria-controls": `${key}-quiz`,
        onclick: () => toggleQuiz(row),
      });
      Object.assign(row, { key, note, said, place, toggle });
      return [note, toggle, place, said];
    };

    // One row per step: its mark, label, count and progress bar; a quiz step also has its
    // rule, its button, the place of its form and its live region (quiz above).
    const rows = campaign.steps.map((step, i) => {
      const key = `step-${i}`;
      const mark = h("span", { class: "mark", "aria-hidden": "true" }, `${i + 1}`);
      const count = h("span", { class: "count", "aria-hidden": "true" });
      const doneText = h("span", { class: "sr" });
      const title = h("span", { id: key, tabindex: "-1" }, [step.label, doneText]);
      const fill = h("div", { class: "fill" });
      const bar = h("div", {
        class: "bar",
        role: "progressbar",
        "aria-labelledby": key,
        "aria-valuemin": "0",
        "aria-valuemax": `${step.target}`,
        "aria-valuenow": "0",
      }, [fill]);
      const body = h("div", {}, [h("p", { class: "head" }, [title, count]), bar]);
      const li = h("li", { class: "step", "data-step": step.id, "data-done": "false" }, [
        mark,
        body,
      ]);
      steps.append(li);
      const row = { step, li, mark, count, doneText, title, fill, bar };
      if (step.kind === "quiz" && step.quiz) body.append(...quiz(row, key));
      return row;
    });

    // "2 attempts left", "1 attempt left", "no attempts left"
    const attemptsText = (n) =>
      n ? t(n === 1 ? "attemptLeft" : "attemptsLeft", { n }) : t("noneLeft");

    const say = (row, text, error = false) => {
      row.said.classList.toggle("error", error);
      row.said.textContent = text;
    };

    // The quiz's controls as the progress and the request allow (row.quiz: its form, once
    // quiz.js has made it).
    const sync = (row) => {
      if (!row.note) return;
      const { step } = row;
      const mine = item?.steps?.find((s) => s.id === step.id);
      const attempts = mine?.attempts_left ?? step.quiz.attempts;
      const running =
        o.signedIn && campaign.active && !mine?.done &&
        !["completed", "expired"].includes(item?.status);
      const open = running && attempts > 0;
      const { pass, questions } = step.quiz;
      let note = t("over"); // out of attempts: until the next window, if there is one
      if (open) note = t("rule", { pass, total: questions.length, left: attemptsText(attempts) });
      else if (campaign.repeat !== "never" && item?.ends) {
        note = t("overUntil", { date: date(item.ends) });
      }
      row.note.textContent = note;
      row.note.hidden = !running;
      row.toggle.hidden = !open;
      const form = row.quiz?.form;
      if (!open && form) form.hidden = true;
      const shown = !!form && !form.hidden;
      row.toggle.setAttribute("aria-expanded", `${shown}`);
      row.toggle.setAttribute("aria-disabled", `${!!row.loading}`); // quiz.js on its way
      row.toggle.textContent = t(shown ? "hide" : "open");
      row.quiz?.enable(!busy && on);
    };

    // "Take the quiz" / "Hide the quiz". The first time, the form's module (quiz.js) is loaded
    // (once for the page: gamify.load keeps it) and makes the form; a failure to load it is said
    // in the step's live region, with a button that tries again.
    const toggleQuiz = (row) => {
      if (row.loading) return;
      if (row.quiz) {
        row.quiz.form.hidden = !row.quiz.form.hidden;
        return sync(row);
      }
      row.loading = true;
      say(row, "");
      sync(row);
      window.gamify.load("quiz", el.getRootNode()).then(
        (kind) => {
          row.loading = false;
          row.quiz = kind.create(row.place, {
            step: row.step,
            id: row.key,
            campaign: id,
            call: o.call,
            t,
            left: attemptsText,
            say: (text, error) => say(row, text, error),
            busy: (yes) => {
              busy = yes;
              rows.forEach(sync);
            },
            progress: (next) => (next ? update(next) : refresh()),
            back: () => row.title.focus(),
          });
          toggleQuiz(row);
        },
        (problem) => {
          row.loading = false;
          sync(row);
          // the frame's texts: the connection, or anything else; the focus stays on the button
          say(row, "");
          row.said.append(
            h("span", { class: "error" }, t(problem?.code === "network" ? "network" : "error")),
            h("button", {
              type: "button",
              class: "alt",
              onclick: () => {
                row.toggle.focus();
                toggleQuiz(row);
              },
            }, t("retry")),
          );
        },
      );
    };

    // The time left in the window (or the challenge), and since or until when.
    const when = () => {
      const now = Date.now();
      const starts = item ? null : campaign.window?.starts || campaign.starts;
      const ends = item?.ends || campaign.window?.ends || campaign.ends;
      if (starts && Date.parse(starts) > now) {
        return [starts, t("starts", { date: date(starts) })];
      }
      const ms = Date.parse(ends) - now;
      if (!(ms > 0)) return [ends, t("ended", { date: date(ends) })];
      const hours = Math.floor(ms / 3600000);
      const days = Math.floor(hours / 24);
      let text = t("soon");
      if (days > 1) text = t("daysLeft", { n: days });
      else if (days === 1) text = t("dayLeft");
      else if (hours > 1) text = t("hoursLeft", { n: hours });
      else if (hours === 1) text = t("hourLeft");
      return [ends, `${text} · ${t("until", { date: date(ends) })}`];
    };

    // The card as the progress `item` says (null: the shopper's progress is unknown).
    const render = () => {
      const now = Date.now();
      let status = item?.status;
      if (!status) {
        if (Date.parse(campaign.ends) <= now) status = "expired";
        else if (Date.parse(campaign.starts) > now) status = "upcoming";
      }
      card.dataset.status = status || "unknown";
      badge.textContent = status ? t(STATUS[status] || "upcoming") : "";
      badge.hidden = !status;
      const [at, text] = when();
      left.dateTime = at;
      left.textContent = text;

      for (const row of rows) {
        const { step } = row;
        const mine = item?.steps?.find((s) => s.id === step.id);
        const target = Number(mine?.target ?? step.target) || 1;
        const value = Math.min(Number(mine?.progress) || 0, target);
        const done = Boolean(mine?.done);
        row.li.dataset.done = `${done}`;
        row.mark.textContent = done ? "✓" : `${rows.indexOf(row) + 1}`;
        row.doneText.textContent = done ? ` (${t("done")})` : "";
        const of = t("of", { n: number.format(value), target: number.format(target) });
        row.count.textContent = item ? of : "";
        row.bar.hidden = !item;
        row.bar.setAttribute("aria-valuemax", `${target}`);
        row.bar.setAttribute("aria-valuenow", `${value}`);
        row.bar.setAttribute("aria-valuetext", of);
        // the CSSOM, which a strict Content-Security-Policy allows
        row.fill.style.width = `${(100 * value) / target}%`;
        sync(row);
      }

      const reward = item?.reward || campaign.reward;
      const won = item?.status === "completed";
      const code = won && typeof reward?.coupon === "string" ? reward.coupon : "";
      headline.textContent = t(won ? "rewarded" : "reward", { label: reward?.label });
      prize.hidden = !reward?.label;
      // the coupon, with a copy button like a game's (made once: focus stays on a refresh)
      coupon.hidden = !code;
      if (code && code !== input.value) {
        input.value = code;
        copied.textContent = "";
      }
      signIn.hidden = o.signedIn;
    };

    // the frame's copy (it is loaded before any game or card): one behaviour for every coupon
    const copy = () => window.gamify.frame.copyCode(input, copied, t);

    // New progress from the server: show it, and tell the page.
    const update = (next) => {
      if (!next) return;
      item = next;
      render();
      o.onProgress(item);
      const detail = { campaign: id, challenge: item };
      const event = new CustomEvent("gamify:challenge", { bubbles: true, composed: true, detail });
      el.dispatchEvent(event);
    };

    // Ask the server for the shopper's progress again (it failing leaves the card as it is).
    const refresh = async () => {
      if (!o.signedIn || !o.call) return;
      try {
        const { challenges } = await o.call("me/challenges");
        update(challenges.find((c) => c.id === id));
      } catch {
        // the card keeps what it showed
      }
    };

    // a page shown again (an order placed in another tab, a day later): fresh progress
    const visible = () => document.visibilityState === "visible" && refresh();
    document.addEventListener("visibilitychange", visible);

    el.append(card);
    render();
    if (campaign.progress) update(campaign.progress);
    else refresh();

    return {
      update,
      refresh,
      enable: (yes) => {
        on = yes;
        rows.forEach(sync);
      },
      destroy: () => {
        document.removeEventListener("visibilitychange", visible);
        card.remove();
      },
      card,
    };
  };

  window.gamify.register("challenge", Object.freeze({ create, DEFAULTS, STRINGS, CSS }));
})();
