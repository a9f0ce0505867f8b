/* leadradar in the mail program: the sender's card, shared by the Thunderbird add-on and the
 * Outlook add-in (crm_core/addins).  The add-in around it says who the sender is, where leadradar
 * is, which token to use and how to open a link; this file asks leadradar's API and draws.
 *
 * Texts come from texts.js (made from the app's message catalogs, German and English).  Data is
 * never put into HTML: every value is set as text. */
"use strict";

(function (global) {
  const TEXTS = global.LEADRADAR_TEXTS || {};

  /** t(key, {name: value}) in the mail program's language (German unless it speaks English);
   * t.language is that language's code, which the API is asked to answer in too. */
  function translator(language) {
    const asked = String(language || "").slice(0, 2).toLowerCase();
    const code = TEXTS[asked] ? asked : "de";
    const table = TEXTS[code] || {};
    function t(key, values) {
      let text = table[key] || key;
      for (const [name, value] of Object.entries(values || {})) {
        text = text.split("{" + name + "}").join(String(value));
      }
      return text;
    }
    t.language = code;
    return t;
  }

  /** {email, name} of an author line: "Anna Schmidt" <anna@firma.de>, Anna <a@b>, a@b. */
  function parseSender(text) {
    const value = String(text || "").trim();
    const angle = value.match(/^(.*)<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$/);
    if (angle) {
      return { email: angle[2], name: angle[1].trim().replace(/^"(.*)"$/, "$1").trim() };
    }
    const bare = value.match(/[^\s<>"]+@[^\s<>"]+/);
    return { email: bare ? bare[0] : "", name: "" };
  }

  class ApiError extends Error {
    constructor(status, body) {
      super("leadradar answered " + status);
      this.status = status; // 0: not reachable
      this.retryAfter = body && body.retry_after;
      this.detail = body && body.message;
    }
  }

  /** leadradar's API at baseUrl, as the owner of token, answering in language (dates, money). */
  function client(baseUrl, token, language) {
    const base = String(baseUrl || "").replace(/\/+$/, "");
    async function call(method, path, body) {
      const headers = { Authorization: "Bearer " + token, Accept: "application/json" };
      if (language) headers["Accept-Language"] = language;
      if (body) headers["Content-Type"] = "application/json";
      let response;
      try {
        response = await fetch(base + "/api/v1" + path, {
          method,
          headers,
          body: body ? JSON.stringify(body) : undefined,
          cache: "no-store",
          credentials: "omit",
        });
      } catch (error) {
        throw new ApiError(0, null);
      }
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
      if (!response.ok) throw new ApiError(response.status, data);
      return data;
    }
    return {
      base,
      me: () => call("GET", "/me"),
      lookup: (email) => call("GET", "/lookup?email=" + encodeURIComponent(email)),
      createContact: (fields) => call("POST", "/contacts", fields),
      addNote: (contactId, text) =>
        call("POST", "/contacts/" + encodeURIComponent(contactId) + "/notes", {
          text,
          channel: "email",
        }),
    };
  }

  /** An element with attributes (on* are listeners) and children (strings become text). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false && child !== "") {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function errorText(error, t, base) {
    switch (error.status) {
      case 0:
        return t("unreachable", { url: base });
      case 401:
        return t("bad_token");
      case 403:
        return t("read_only");
      case 429:
        return t("throttled", { seconds: error.retryAfter || 60 });
      default:
        return t("failed", { message: error.detail || error.status });
    }
  }

  function notice(kind, text) {
    return el("p", { class: "lr-notice lr-" + kind, role: kind === "error" ? "alert" : "status" }, text);
  }

  function footer(view) {
    return el(
      "footer",
      { class: "lr-footer" },
      el("button", { type: "button", class: "lr-link", onclick: () => view.openSettings() }, view.t("settings"))
    );
  }

  /** Show the card of view.sender: {root, t, sender: {email, name}, settings: {url, token},
   * openUrl(url), openSettings()}. */
  async function showSender(view) {
    const { root, t, sender, settings } = view;
    const draw = (...nodes) =>
      root.replaceChildren(el("h1", { class: "lr-title" }, "leadradar"), ...nodes.flat().filter(Boolean));
    if (!settings.url || !settings.token) {
      draw(notice("info", t("not_configured")), footer(view));
      return;
    }
    if (!sender || !sender.email) {
      draw(notice("info", t("no_sender")), footer(view));
      return;
    }
    const api = client(settings.url, settings.token, t.language);
    draw(notice("info", t("looking_up", { email: sender.email })));
    let found;
    try {
      found = await api.lookup(sender.email);
    } catch (error) {
      draw(notice("error", errorText(error, t, api.base)), footer(view));
      return;
    }
    const again = () => showSender(view);
    if (!found.contacts.length) {
      draw(unknownSender(view, api, found, again), footer(view));
      return;
    }
    const several = found.contacts.length > 1 ? notice("info", t("several", { n: found.contacts.length })) : null;
    draw(several, found.contacts.map((contact) => card(view, api, contact, again)), footer(view));
  }

  function unknownSender(view, api, found, again) {
    const { t, sender } = view;
    const name = el("input", { type: "text", name: "name", maxlength: "200", value: sender.name || "" });
    const company = el("input", { type: "text", name: "company", maxlength: "200", value: found.company_guess || "" });
    const status = el("div", { class: "lr-status" });
    const create = el("button", { type: "submit", class: "lr-primary" }, t("create_contact"));
    const form = el(
      "form",
      {
        class: "lr-form",
        onsubmit: async (event) => {
          event.preventDefault();
          create.disabled = true;
          try {
            await api.createContact({ email: found.email, name: name.value, company: company.value });
            await again();
          } catch (error) {
            create.disabled = false;
            status.replaceChildren(notice("error", errorText(error, t, api.base)));
          }
        },
      },
      el("label", {}, t("name"), name),
      el("label", {}, t("company"), company),
      create,
      status
    );
    return el(
      "section",
      { class: "lr-unknown" },
      el("p", { class: "lr-lead" }, t("unknown", { email: found.email })),
      found.company_guess ? el("p", { class: "lr-muted" }, t("domain_of", { company: found.company_guess })) : null,
      form
    );
  }

  /** Where a lead stands: its phase while open, else "won (Angebot)". */
  function leadState(lead, t) {
    return lead.status === "open" ? lead.phase : t("state", { status: t(lead.status), phase: lead.phase });
  }

  function section(title, t, items) {
    return el(
      "section",
      { class: "lr-section" },
      el("h3", {}, title),
      items.length ? el("ul", {}, items.map((text) => el("li", {}, text))) : el("p", { class: "lr-muted" }, t("none"))
    );
  }

  function card(view, api, contact, again) {
    const { t } = view;
    const open = () => view.openUrl(api.base + contact.path);
    const facts = [
      contact.job_title,
      contact.company,
      contact.city,
      contact.owner && t("owner", { name: contact.owner }),
      contact.first_contact_text && t("first_contact", { day: contact.first_contact_text }),
    ].filter(Boolean);
    const status = el("div", { class: "lr-status" });
    const text = el("textarea", { name: "note", rows: "3", maxlength: "5000", placeholder: t("note_placeholder") });
    const save = el("button", { type: "submit", class: "lr-primary" }, t("save_note"));
    const noteForm = el(
      "form",
      {
        class: "lr-form lr-note",
        hidden: "",
        onsubmit: async (event) => {
          event.preventDefault();
          save.disabled = true;
          try {
            await api.addNote(contact.id, text.value);
            await again();
            view.root.prepend(notice("success", t("note_saved")));
          } catch (error) {
            save.disabled = false;
            status.replaceChildren(notice("error", errorText(error, t, api.base)));
          }
        },
      },
      text,
      save
    );
    return el(
      "article",
      { class: "lr-card", "data-contact": String(contact.id) },
      el("h2", {}, contact.name),
      facts.length ? el("p", { class: "lr-muted" }, facts.join(" · ")) : null,
      contact.phones.length ? el("p", {}, contact.phones.join(" · ")) : null,
      el(
        "div",
        { class: "lr-actions" },
        el("button", { type: "button", class: "lr-primary", onclick: open }, t("open")),
        el(
          "button",
          {
            type: "button",
            onclick: () => {
              noteForm.hidden = false;
              text.focus();
            },
          },
          t("add_note")
        )
      ),
      noteForm,
      status,
      section(t("leads"), t, contact.leads.map((l) => [l.title, leadState(l, t), l.value_text].join(" · "))),
      section(t("offers"), t, contact.offers.map((n) => n.date_text + " · " + n.text)),
      section(
        t("reminders"),
        t,
        contact.reminders.map((r) => [r.due_text, r.assignee, r.note].filter(Boolean).join(" · "))
      ),
      section(t("notes"), t, contact.notes.map((n) => [n.date_text, n.channel_text, n.text].join(" · ")))
    );
  }

  /** The form for leadradar's address (when editable) and the API token: {root, t, url, token,
   * urlEditable, save(url, token) -> Promise, done()}.  Saving checks the connection. */
  function settingsForm(view) {
    const { root, t } = view;
    const url = el("input", { type: "url", name: "url", required: "", value: view.url || "", placeholder: "https://crm.firma.local:8501" });
    const token = el("input", { type: "password", name: "token", required: "", autocomplete: "off", value: view.token || "" });
    const status = el("div", { class: "lr-status" });
    const form = el(
      "form",
      {
        class: "lr-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const base = view.urlEditable ? url.value.trim().replace(/\/+$/, "") : view.url;
          const secret = token.value.trim();
          status.replaceChildren(notice("info", t("checking")));
          try {
            const me = await client(base, secret, t.language).me();
            await view.save(base, secret);
            status.replaceChildren(notice("success", t("connected", { name: me.name, scope: me.scope_text })));
            if (view.done) view.done();
          } catch (error) {
            status.replaceChildren(notice("error", error instanceof ApiError ? errorText(error, t, base) : t("not_saved")));
          }
        },
      },
      view.urlEditable ? el("label", {}, t("server_url"), url) : null,
      el("label", {}, t("token"), token),
      el("p", { class: "lr-muted" }, t("token_help")),
      el("button", { type: "submit", class: "lr-primary" }, t("save")),
      status
    );
    root.replaceChildren(el("h1", { class: "lr-title" }, "leadradar"), form);
  }

  global.Leadradar = { translator, parseSender, client, showSender, settingsForm };
})(window);
