// The chat's browser side (run once by the conversation component's js_on_load). It only moves fragments the
// server rendered (and escaped): a click on [n] copies that answer's hidden clause into the clause panel.
(function () {
  if (window.__regqaChat) return;
  window.__regqaChat = true;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const hoverable = window.matchMedia("(hover: hover) and (pointer: fine)");
  let placeholder = null;

  function clauseView() { return $("#clause-view"); }

  function openClause(turn, n) {
    const src = $(`#chatbot .clause-src[data-turn="${turn}"][data-n="${n}"]`);
    const view = clauseView();
    if (!src || !view) return;
    if (placeholder === null) placeholder = view.innerHTML;
    view.innerHTML = src.innerHTML;
    document.querySelectorAll("#chatbot .cite.active").forEach((b) => b.classList.remove("active"));
    document.querySelectorAll(`#chatbot .cite[data-turn="${turn}"][data-n="${n}"]`)
      .forEach((b) => b.classList.add("active"));
    $("#clause-panel").classList.add("open");
    requestAnimationFrame(() => {
      const mark = view.querySelector("mark");
      view.scrollTop = 0;
      if (mark) {
        const offset = mark.getBoundingClientRect().top - view.getBoundingClientRect().top;
        view.scrollTop = Math.max(0, offset - view.clientHeight / 4);
      }
      const panel = $("#clause-panel");
      const rect = panel.getBoundingClientRect();
      if (!panel.classList.contains("sheet") && (rect.top < 0 || rect.top > window.innerHeight - 120)) {
        panel.scrollIntoView({ block: "start" });
      }
    });
  }

  function closeClause() { const p = $("#clause-panel"); if (p) p.classList.remove("open"); }

  function resetClause() {
    closeClause();
    const view = clauseView();
    if (view && placeholder !== null) view.innerHTML = placeholder;
  }

  function fillQuestion(text, send) {
    const box = $("#question textarea");
    if (!box) return;
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    if (send) setTimeout(() => $("#send").click(), 50);
  }

  function toServer(payload) {
    const box = $("#feedback-payload textarea");
    if (!box) return;
    box.value = JSON.stringify(payload);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => $("#feedback-send").click(), 50);
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    if (button) {
      const label = button.textContent;
      button.textContent = "Copied ✓ / 已复制";
      setTimeout(() => { button.textContent = label; }, 1500);
    }
  }

  function rate(button) {
    const actions = button.closest(".answer-actions");
    actions.querySelectorAll(".rate").forEach((b) => b.setAttribute("aria-pressed", "false"));
    button.setAttribute("aria-pressed", "true");
    actions.dataset.rating = button.dataset.rating;
    toServer({ answer_id: actions.dataset.answerId, rating: button.dataset.rating, comment: "" });
    actions.querySelector(".comment-box").hidden = false;
    actions.querySelector(".feedback-done").textContent = "Thanks / 谢谢";
  }

  function sendComment(button) {
    const actions = button.closest(".answer-actions");
    const comment = actions.querySelector(".comment").value.trim();
    if (!comment || !actions.dataset.rating) return;
    toServer({ answer_id: actions.dataset.answerId, rating: actions.dataset.rating, comment: comment });
    actions.querySelector(".comment-box").hidden = true;
    actions.querySelector(".feedback-done").textContent = "Comment sent, thanks / 评论已提交，谢谢";
  }

  // a hover card with the clause's highlighted sentences (desktop)
  let card = null;
  function showCard(button) {
    const src = $(`#chatbot .clause-src[data-turn="${button.dataset.turn}"][data-n="${button.dataset.n}"]`);
    if (!src) return;
    if (!card) { card = document.createElement("div"); card.id = "cite-card"; document.body.appendChild(card); }
    const title = src.querySelector(".clause-title");
    const marks = Array.from(src.querySelectorAll("mark")).map((m) => m.textContent).join(" … ");
    const text = marks || (src.querySelector(".clause-text") || src).textContent;
    card.replaceChildren();
    const head = document.createElement("strong");
    head.textContent = title ? title.textContent : "";
    const body = document.createElement("p");
    body.textContent = text.length > 320 ? text.slice(0, 320) + "…" : text;
    card.append(head, body);
    const rect = button.getBoundingClientRect();
    card.style.left = Math.min(rect.left, window.innerWidth - 400) + "px";
    card.style.top = (rect.bottom + 6) + "px";
    card.hidden = false;
  }
  function hideCard() { if (card) card.hidden = true; }

  document.addEventListener("click", (event) => {
    const t = event.target.closest("button, .chip, .sheet-close");
    if (!t) return;
    if (t.matches("#chatbot .cite")) { hideCard(); openClause(t.dataset.turn, t.dataset.n); }
    else if (t.matches(".sheet-close")) closeClause();
    else if (t.matches(".follow-up")) fillQuestion(t.dataset.question, true);
    else if (t.matches(".example")) fillQuestion(t.dataset.question, false);
    else if (t.matches(".copy-answer")) copyText(t.closest(".answer-actions").querySelector(".copy-src").textContent, t);
    else if (t.matches(".rate")) rate(t);
    else if (t.matches(".comment-send")) sendComment(t);
    else if (t.matches("#clear")) resetClause();
    else if (t.matches("#copy-conversation")) {
      const texts = Array.from(document.querySelectorAll("#chatbot .turn")).map((turn) => {
        const q = turn.querySelector(".bubble.user").textContent;
        const a = turn.querySelector(".copy-src");
        return a ? `Q: ${q}\n\n${a.textContent}` : "";
      }).filter(Boolean);
      if (texts.length) copyText(texts.join("\n\n———\n\n"), t);
    }
    else if (t.matches("#filters-toggle")) document.body.classList.toggle("show-filters");
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { closeClause(); hideCard(); }
    if (event.key === "Enter" && event.target.matches(".comment")) sendComment(event.target);
  });
  document.addEventListener("mouseover", (event) => {
    const t = event.target.closest && event.target.closest("#chatbot .answer-lead .cite, #chatbot .answer-body .cite");
    if (t && hoverable.matches) showCard(t);
  });
  document.addEventListener("mouseout", (event) => {
    if (event.target.closest && event.target.closest("#chatbot .cite")) hideCard();
  });

  // A new question: show its turn from the top (never jump to the bottom of a long answer). The conversation
  // scrolls inside its box on desktop and with the page on phones.
  let turns = 0;
  let pinned = null;  // the newest turn, kept at the top while it streams in, until the reader scrolls
  const openDetails = new Set();
  function pin() {
    const turn = pinned === null ? null : $(`#chatbot .turn[data-turn="${pinned}"]`);
    if (!turn) return;
    const box = $("#chatbot");
    if (getComputedStyle(box).overflowY !== "visible") {
      box.scrollTop += turn.getBoundingClientRect().top - box.getBoundingClientRect().top - 4;
    } else {
      const top = turn.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight * 0.5) window.scrollBy(0, top - 8);
    }
  }
  function onConversationChange() {
    const all = document.querySelectorAll("#chatbot .turn");
    // re-rendering closes the full texts a reader opened: open them again
    openDetails.forEach((n) => {
      const details = $(`#chatbot .turn[data-turn="${n}"] details.answer-full`);
      if (details && !details.open) details.open = true;
    });
    if (all.length > turns) pinned = all[all.length - 1].dataset.turn;
    if (all.length === 0) { resetClause(); openDetails.clear(); pinned = null; }
    turns = all.length;
    pin();
  }
  ["wheel", "touchmove"].forEach((kind) => document.addEventListener(kind, () => { pinned = null; },
    { passive: true }));
  document.addEventListener("click", (event) => {  // a reader opening or closing a full text
    const summary = event.target.closest && event.target.closest("#chatbot details.answer-full > summary");
    if (!summary) return;
    setTimeout(() => {
      const details = summary.parentElement;
      const n = details.closest(".turn").dataset.turn;
      if (details.open) openDetails.add(n); else openDetails.delete(n);
    }, 0);
  });
  function watch() {
    const box = $("#chatbot");
    if (!box) { setTimeout(watch, 200); return; }
    new MutationObserver(onConversationChange).observe(box, { childList: true, subtree: true });
    const panel = $("#clause-panel");
    const phone = window.matchMedia("(max-width: 640px)");
    const sheet = () => panel && panel.classList.toggle("sheet", phone.matches);
    sheet();
    phone.addEventListener("change", sheet);
  }
  watch();
})();
