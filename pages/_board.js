// The leadradar board (a Streamlit components.v2 component: plain JavaScript in the app's own page,
// no iframe, no build step).  pages/_board.py passes the board as `data`; every text in it is in
// the user's language already and is shown with textContent, never as HTML.
//
// Streamlit calls the default export again with the same parentElement whenever the data change,
// so one Board per parentElement keeps its DOM: cards and columns are updated in place (keyed by
// lead id and phase), which keeps every scroll position.  A drop moves the card at once (marked
// pending) and sends one event; the next data confirm it (or put it back where the server says it
// is).  Events sent: drop {rev, lead, to, index}, open {lead}, more {phase}, undo {notice}.

const boards = new WeakMap();
const DRAG_START_PX = 6; // a mouse or pen press that moves this far is a drag, else a click
const TOUCH_SLOP_PX = 10; // a finger that moves this far before the long press is scrolling
const LONG_PRESS_MS = 350; // a finger drags a card after holding it this long
const EDGE_PX = 48; // near the edge of a column (or of the row of columns) it scrolls while dragging
const EDGE_DELAY_MS = 300; // … once the card has been held there this long
const CONFIRM_TIMEOUT_MS = 15000; // no answer to a drop by then: show the board as last received
const NOTICE_MS = 12000;
const PHONE_TOP_PX = 64; // what Streamlit's own bar covers at the top of a phone's screen
const NARROW_PX = 520; // narrower boards (phones) show one phase at a time, with tabs to switch

export default function leadradarBoard({ data, parentElement, setTriggerValue }) {
  let board = boards.get(parentElement);
  if (!board) {
    board = new Board(parentElement);
    boards.set(parentElement, board);
  }
  board.send = setTriggerValue;
  board.render((data && data[0]) || {}); // the board, sent inside a list (pages/_board.py)
  return () => board.detach();
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setText(node, text) {
  const value = text === undefined || text === null ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

function inside(rect, x, y) {
  return x >= rect.left && x <= rect.right && y >= rect.top && y <= rect.bottom;
}

function scrollerOf(node) {
  // The element that scrolls the page (Streamlit scrolls its main area, not the window).
  let current = node;
  while (current) {
    if (current instanceof Element) {
      const style = getComputedStyle(current);
      if (/(auto|scroll)/.test(style.overflowY) && current.scrollHeight > current.clientHeight) {
        return current;
      }
    }
    current = current.parentNode || current.host;
  }
  return document.scrollingElement;
}

class Board {
  constructor(parent) {
    this.parent = parent;
    this.hostElement = parent.host || parent;
    this.root = el("div", "kb");
    this.bar = el("div", "kb-bar");
    this.bar.setAttribute("role", "status");
    this.barText = el("span", "kb-bar-text");
    this.undoButton = el("button", "kb-undo");
    this.undoButton.type = "button";
    this.closeButton = el("button", "kb-close", "×");
    this.closeButton.type = "button";
    this.bar.append(this.barText, this.undoButton, this.closeButton);
    this.tabs = el("div", "kb-tabs");
    this.tabs.setAttribute("role", "tablist");
    this.cols = el("div", "kb-cols");
    this.zones = el("div", "kb-zones");
    this.marker = el("div", "kb-marker");
    this.root.append(this.bar, this.tabs, this.cols, this.zones);
    parent.appendChild(this.root);

    this.columns = new Map(); // phase key -> {el, name, count, sums, list, more, tab}
    this.zoneEls = new Map(); // "won" / "lost" -> {el, label, slot}
    this.cards = new Map(); // lead id -> card element
    this.data = {};
    this.press = null;
    this.drag = null;
    this.noticeId = null;
    this.noticeTimer = 0;
    this.confirmTimer = 0;

    for (const name of ["onPointerDown", "onPointerMove", "onPointerUp", "onPointerCancel",
      "onTouchMove", "onKeyDown", "onEscape", "onClick", "onResize", "onColsScroll", "tick"]) {
      this[name] = this[name].bind(this);
    }
    this.root.addEventListener("pointerdown", this.onPointerDown);
    this.root.addEventListener("keydown", this.onKeyDown);
    this.root.addEventListener("click", this.onClick);
    this.root.addEventListener("dragstart", (event) => event.preventDefault());
    this.root.addEventListener("contextmenu", (event) => {
      if (this.press || this.drag) event.preventDefault(); // a long press picks up, no menu
    });
    this.cols.addEventListener("scroll", this.onColsScroll, { passive: true });
    this.attached = false;
    this.attach();
  }

  attach() {
    if (this.attached) return;
    window.addEventListener("resize", this.onResize);
    this.attached = true;
  }

  detach() {
    window.removeEventListener("resize", this.onResize);
    this.endPress();
    this.attached = false;
  }

  // -- drawing ---------------------------------------------------------------------------------

  render(data) {
    this.attach();
    this.data = data;
    this.rev = data.rev;
    clearTimeout(this.confirmTimer);
    this.marker.remove();
    for (const zone of this.zoneEls.values()) {
      for (const node of [...zone.slot.children]) if (!this.drag || node !== this.drag.card) node.remove();
    }
    this.renderColumns(data.columns || []);
    this.renderZones(data.zones || []);
    if (data.pending && this.cards.has(data.pending.lead)) {
      const zone = this.zoneEls.get(data.pending.to);
      const card = this.cards.get(data.pending.lead);
      if (zone) {
        zone.slot.appendChild(card);
        card.classList.add("kb-pending");
      }
    }
    this.renderNotice(data.notice, data.hint);
    this.root.dataset.rev = String(data.rev);
    this.root.setAttribute("aria-label", data.label || "");
    this.fit();
    requestAnimationFrame(() => this.fit());
    if (this.drag) this.moveDrag();
  }

  renderColumns(columns) {
    const wantedCards = new Set();
    const keys = new Set();
    columns.forEach((column, i) => {
      let col = this.columns.get(column.key);
      if (!col) {
        col = this.makeColumn(column.key);
        this.columns.set(column.key, col);
      }
      keys.add(column.key);
      if (this.cols.children[i] !== col.el) {
        this.cols.insertBefore(col.el, this.cols.children[i] || null);
      }
      if (this.tabs.children[i] !== col.tab) {
        this.tabs.insertBefore(col.tab, this.tabs.children[i] || null);
      }
      setText(col.name, column.name);
      setText(col.count, column.count);
      setText(col.sums, column.sums);
      setText(col.tab, `${column.name} · ${column.count}`);
      if (/^#[0-9a-fA-F]{3,8}$/.test(column.color || "")) {
        col.el.style.setProperty("--kb-phase", column.color);
      }
      const nodes = (column.cards || []).map((card) => this.cardElement(card));
      nodes.forEach((node, j) => {
        wantedCards.add(node);
        if (col.list.children[j] !== node) col.list.insertBefore(node, col.list.children[j] || null);
      });
      while (col.list.children.length > nodes.length) col.list.lastElementChild.remove();
      setText(col.more, column.more || "");
      col.more.hidden = !column.more;
      col.more.disabled = false;
      col.more.dataset.phase = column.key;
      col.empty.hidden = nodes.length > 0;
      setText(col.empty, column.empty || "");
    });
    for (const [key, col] of this.columns) {
      if (!keys.has(key)) {
        col.el.remove();
        col.tab.remove();
        this.columns.delete(key);
      }
    }
    for (const [id, node] of this.cards) {
      if (!wantedCards.has(node)) {
        node.remove();
        this.cards.delete(id);
      }
    }
    this.onColsScroll();
  }

  makeColumn(key) {
    const col = { el: el("section", "kb-col") };
    col.el.dataset.key = key;
    const header = el("header", "kb-head");
    const line = el("div", "kb-head-line");
    col.name = el("span", "kb-name");
    col.count = el("span", "kb-count");
    line.append(col.name, col.count);
    col.sums = el("div", "kb-sums");
    header.append(line, col.sums);
    col.list = el("div", "kb-list");
    col.empty = el("div", "kb-empty");
    col.more = el("button", "kb-more");
    col.more.type = "button";
    const body = el("div", "kb-body");
    body.append(col.list, col.empty, col.more);
    col.body = body;
    col.el.append(header, body);
    col.tab = el("button", "kb-tab");
    col.tab.type = "button";
    col.tab.setAttribute("role", "tab");
    col.tab.dataset.key = key;
    return col;
  }

  cardElement(card) {
    let node = this.cards.get(card.id);
    if (!node) {
      node = el("article", "kb-card");
      node.tabIndex = 0;
      node.setAttribute("role", "button");
      node.dataset.lead = String(card.id);
      this.cards.set(card.id, node);
    }
    const signature = JSON.stringify(card);
    if (node.signature !== signature) {
      node.signature = signature;
      const parts = [];
      if (card.stale) parts.push(el("div", "kb-stale", card.stale));
      parts.push(el("div", "kb-title", card.title), el("div", "kb-contact", card.contact));
      const money = el("div", "kb-facts");
      money.append(el("b", "kb-value", card.value), document.createTextNode(` · ${card.owner}`));
      parts.push(money, el("div", "kb-facts kb-small", card.activity));
      node.replaceChildren(...parts);
      node.classList.toggle("kb-is-stale", Boolean(card.stale));
      node.setAttribute("aria-label", `${card.title} — ${card.contact}`);
      node.title = card.tip || "";
    }
    node.classList.remove("kb-pending");
    if (!this.drag || this.drag.card !== node) node.classList.remove("kb-dragging");
    return node;
  }

  renderZones(zones) {
    const keys = new Set();
    zones.forEach((zone, i) => {
      let z = this.zoneEls.get(zone.key);
      if (!z) {
        z = { el: el("div", `kb-zone kb-zone-${zone.key}`), label: el("span", "kb-zone-label"),
              slot: el("div", "kb-slot") };
        z.el.dataset.key = zone.key;
        z.el.append(z.label, z.slot);
        this.zoneEls.set(zone.key, z);
      }
      keys.add(zone.key);
      if (this.zones.children[i] !== z.el) this.zones.insertBefore(z.el, this.zones.children[i] || null);
      setText(z.label, zone.label);
    });
    for (const [key, z] of this.zoneEls) {
      if (!keys.has(key)) {
        z.el.remove();
        this.zoneEls.delete(key);
      }
    }
  }

  renderNotice(notice, hint) {
    if (notice && notice.id !== this.noticeId) {
      this.noticeId = notice.id;
      this.showNotice(notice);
    } else if (!this.noticeShown) {
      this.showHint(hint);
    }
    this.hint = hint;
  }

  showNotice(notice) {
    clearTimeout(this.noticeTimer);
    this.noticeShown = notice;
    this.bar.className = `kb-bar kb-${notice.kind || "success"}`;
    setText(this.barText, notice.text);
    setText(this.undoButton, notice.undo || "");
    this.undoButton.hidden = !notice.undo;
    this.closeButton.hidden = false;
    this.closeButton.setAttribute("aria-label", notice.close || "");
    this.noticeTimer = setTimeout(() => this.showHint(this.hint), NOTICE_MS * (notice.kind === "warning" ? 2 : 1));
  }

  showHint(hint) {
    clearTimeout(this.noticeTimer);
    this.noticeShown = null;
    this.bar.className = "kb-bar kb-hint";
    setText(this.barText, hint || "");
    this.undoButton.hidden = true;
    this.closeButton.hidden = true;
  }

  fit() {
    // Columns scroll inside a height that leaves the Won / Lost zones on screen under them.
    const narrow = this.root.clientWidth < NARROW_PX;
    this.root.classList.toggle("kb-narrow", narrow);
    let top;
    if (narrow) {
      // A phone scrolls the filters away: the board then fills the screen under the app's bar.
      top = PHONE_TOP_PX + this.cols.getBoundingClientRect().top - this.root.getBoundingClientRect().top;
    } else {
      const scroller = scrollerOf(this.hostElement);
      top = this.cols.getBoundingClientRect().top + (scroller ? scroller.scrollTop : 0);
    }
    let head = 0;
    for (const col of this.columns.values()) head = Math.max(head, col.body.offsetTop - col.el.offsetTop);
    const room = window.innerHeight - top - head - this.zones.offsetHeight - 40;
    const height = Math.max(200, Math.round(room));
    this.root.style.setProperty("--kb-body-h", `${height}px`);
  }

  onResize() {
    cancelAnimationFrame(this.resizeFrame);
    this.resizeFrame = requestAnimationFrame(() => this.fit());
  }

  onColsScroll() {
    const cols = [...this.columns.values()];
    if (!cols.length) return;
    const left = this.cols.scrollLeft;
    let current = cols[0];
    for (const col of cols) if (col.el.offsetLeft - this.cols.offsetLeft <= left + 8) current = col;
    for (const col of cols) col.tab.setAttribute("aria-selected", String(col === current));
  }

  // -- clicks and keys -------------------------------------------------------------------------

  onClick(event) {
    const target = event.target.closest("button");
    if (!target || !this.root.contains(target)) return;
    if (target.classList.contains("kb-more")) {
      target.disabled = true;
      this.send("more", { phase: target.dataset.phase });
    } else if (target === this.undoButton && this.noticeShown) {
      this.send("undo", { notice: this.noticeShown.id });
      this.showHint(this.hint);
    } else if (target === this.closeButton) {
      this.showHint(this.hint);
    } else if (target.classList.contains("kb-tab")) {
      const col = this.columns.get(target.dataset.key);
      if (col) this.cols.scrollTo({ left: col.el.offsetLeft - this.cols.offsetLeft, behavior: "smooth" });
    }
  }

  onKeyDown(event) {
    const card = event.target.closest && event.target.closest(".kb-card");
    if (card && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      this.open(card);
    }
  }

  open(card) {
    card.classList.add("kb-opening");
    setTimeout(() => card.classList.remove("kb-opening"), 1500);
    this.send("open", { lead: Number(card.dataset.lead), rev: this.rev });
  }

  // -- dragging --------------------------------------------------------------------------------

  onPointerDown(event) {
    if (this.press || this.drag) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    const card = event.target.closest(".kb-card");
    if (!card || !this.root.contains(card) || card.classList.contains("kb-pending")) return;
    this.press = {
      card, id: Number(card.dataset.lead), x: event.clientX, y: event.clientY,
      lastX: event.clientX, lastY: event.clientY, pointerId: event.pointerId,
      touch: event.pointerType === "touch", timer: 0,
    };
    if (this.press.touch) {
      this.press.timer = setTimeout(() => {
        if (this.press && !this.drag) this.startDrag();
      }, LONG_PRESS_MS);
    }
    window.addEventListener("pointermove", this.onPointerMove, { passive: false });
    window.addEventListener("pointerup", this.onPointerUp);
    window.addEventListener("pointercancel", this.onPointerCancel);
    window.addEventListener("touchmove", this.onTouchMove, { passive: false });
    window.addEventListener("keydown", this.onEscape);
  }

  onPointerMove(event) {
    const press = this.press;
    if (!press || event.pointerId !== press.pointerId) return;
    press.lastX = event.clientX;
    press.lastY = event.clientY;
    if (!this.drag) {
      const distance = Math.hypot(event.clientX - press.x, event.clientY - press.y);
      if (press.touch) {
        if (distance > TOUCH_SLOP_PX) this.endPress(); // the finger scrolls
        return;
      }
      if (distance < DRAG_START_PX) return;
      this.startDrag();
    }
    event.preventDefault();
    this.moveDrag();
  }

  onTouchMove(event) {
    if (this.drag) event.preventDefault(); // a card held by a finger: the page does not scroll
  }

  onPointerUp(event) {
    const press = this.press;
    if (!press || event.pointerId !== press.pointerId) return;
    if (this.drag) {
      press.lastX = event.clientX;
      press.lastY = event.clientY;
      this.moveDrag();
      this.finishDrag();
    } else {
      this.open(press.card);
    }
    this.endPress();
  }

  onPointerCancel(event) {
    if (this.press && event.pointerId === this.press.pointerId) this.cancelDrag();
  }

  endPress() {
    if (this.press) clearTimeout(this.press.timer);
    this.press = null;
    window.removeEventListener("pointermove", this.onPointerMove);
    window.removeEventListener("pointerup", this.onPointerUp);
    window.removeEventListener("pointercancel", this.onPointerCancel);
    window.removeEventListener("touchmove", this.onTouchMove);
    window.removeEventListener("keydown", this.onEscape);
  }

  onEscape(event) {
    if (event.key === "Escape" && this.drag) {
      event.preventDefault();
      this.cancelDrag(); // the card stays where it was
    }
  }

  startDrag() {
    const press = this.press;
    clearTimeout(press.timer);
    const card = press.card;
    const rect = card.getBoundingClientRect();
    const ghost = card.cloneNode(true);
    ghost.classList.add("kb-ghost");
    ghost.removeAttribute("data-lead");
    ghost.removeAttribute("tabindex");
    ghost.setAttribute("aria-hidden", "true");
    ghost.style.width = `${rect.width}px`;
    this.root.appendChild(ghost);
    const col = card.closest(".kb-col");
    this.drag = {
      card, id: press.id, from: col ? col.dataset.key : null,
      fromIndex: [...card.parentNode.children].indexOf(card),
      dx: press.x - rect.left, dy: press.y - rect.top, ghost, target: null, frame: 0,
    };
    card.classList.add("kb-dragging");
    this.root.classList.add("kb-is-dragging");
    if (press.touch && navigator.vibrate) navigator.vibrate(15);
    this.drag.frame = requestAnimationFrame(this.tick);
  }

  moveDrag() {
    const drag = this.drag;
    const x = this.press.lastX;
    const y = this.press.lastY;
    drag.ghost.style.transform = `translate(${x - drag.dx}px, ${y - drag.dy}px)`;
    const target = this.hitTest(x, y);
    const before = drag.target;
    if (before && (!target || before.el !== target.el)) before.el.classList.remove("kb-over");
    if (target) target.el.classList.add("kb-over");
    drag.target = target;
    if (target && target.list) {
      const cards = this.cardsIn(target.list);
      const list = target.list;
      let top;
      if (!cards.length) top = 2;
      else if (target.index < cards.length) top = cards[target.index].offsetTop - 4;
      else top = cards[cards.length - 1].offsetTop + cards[cards.length - 1].offsetHeight + 2;
      if (this.marker.parentNode !== list) list.appendChild(this.marker);
      this.marker.style.top = `${top}px`;
    } else {
      this.marker.remove();
    }
  }

  cardsIn(list) {
    return [...list.children].filter((n) => n.classList.contains("kb-card") && n !== this.drag.card);
  }

  hitTest(x, y) {
    for (const [key, zone] of this.zoneEls) {
      if (inside(zone.el.getBoundingClientRect(), x, y)) return { key, el: zone.el };
    }
    const area = this.cols.getBoundingClientRect();
    if (!inside(area, x, y)) return null;
    for (const [key, col] of this.columns) {
      const rect = col.el.getBoundingClientRect();
      if (x < rect.left || x > rect.right) continue;
      const cards = this.cardsIn(col.list);
      let index = 0;
      for (const card of cards) {
        const r = card.getBoundingClientRect();
        if (r.top + r.height / 2 < y) index += 1;
      }
      return { key, el: col.el, list: col.list, index };
    }
    return null;
  }

  tick(now) {
    // A card held near an edge for a moment scrolls the column (or the row of columns); one
    // just passing by on its way to the zones scrolls nothing.
    const drag = this.drag;
    if (!drag || !this.press) return;
    const x = this.press.lastX;
    const y = this.press.lastY;
    let body = null;
    let dy = 0;
    let dx = 0;
    const target = drag.target;
    if (target && target.list) {
      body = target.list.parentNode;
      const rect = body.getBoundingClientRect();
      const speed = (edge) => Math.ceil(((EDGE_PX - edge) / EDGE_PX) * 14);
      if (y < rect.top + EDGE_PX && body.scrollTop > 0) dy = -speed(y - rect.top);
      else if (y > rect.bottom - EDGE_PX && body.scrollTop + body.clientHeight < body.scrollHeight) {
        dy = speed(rect.bottom - y);
      }
    }
    const row = this.cols.getBoundingClientRect();
    if (y > row.top && y < row.bottom) {
      if (x < row.left + EDGE_PX && this.cols.scrollLeft > 0) dx = -12;
      else if (x > row.right - EDGE_PX && this.cols.scrollLeft + this.cols.clientWidth < this.cols.scrollWidth) {
        dx = 12;
      }
    }
    const edge = dy || dx ? `${body ? target.key : ""}:${Math.sign(dy)}:${Math.sign(dx)}` : null;
    if (edge !== drag.edge) {
      drag.edge = edge;
      drag.edgeSince = now;
    } else if (edge && now - drag.edgeSince > EDGE_DELAY_MS) {
      if (dy) body.scrollTop += dy;
      if (dx) this.cols.scrollLeft += dx;
      this.moveDrag();
    }
    drag.frame = requestAnimationFrame(this.tick);
  }

  cleanUpDrag() {
    const drag = this.drag;
    cancelAnimationFrame(drag.frame);
    drag.ghost.remove();
    this.marker.remove();
    if (drag.target) drag.target.el.classList.remove("kb-over");
    this.root.classList.remove("kb-is-dragging");
    drag.card.classList.remove("kb-dragging");
    this.drag = null;
  }

  cancelDrag() {
    if (this.drag) this.cleanUpDrag();
    this.endPress();
  }

  finishDrag() {
    const drag = this.drag;
    const target = drag.target;
    this.cleanUpDrag();
    if (!target || (target.key === drag.from && target.index === drag.fromIndex)) return;
    if (target.list) {
      const cards = [...target.list.children].filter((n) => n.classList.contains("kb-card") && n !== drag.card);
      target.list.insertBefore(drag.card, cards[target.index] || null);
    } else {
      this.zoneEls.get(target.key).slot.appendChild(drag.card);
    }
    drag.card.classList.add("kb-pending");
    this.send("drop", { rev: this.rev, lead: drag.id, to: target.key, index: target.index || 0 });
    clearTimeout(this.confirmTimer);
    this.confirmTimer = setTimeout(() => this.render(this.data), CONFIRM_TIMEOUT_MS);
  }
}
