// commlog console: the little behaviour htmx does not give. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // an htmx request that failed must say so: htmx does not swap 4xx/5xx answers by itself
  function toast(html) {
    var box = document.getElementById("toast");
    box.innerHTML = html + ' <button type="button" class="close link">Dismiss</button>';
    box.hidden = false;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 401) {
      toast('<strong>Your session has ended.</strong> <a href="/login?next=' +
        encodeURIComponent(location.pathname + location.search) + '">Log in again</a> and try once more.');
    } else if (xhr.getResponseHeader("Content-Type") && xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
      toast(xhr.responseText);  // the server's own error fragment (escaped by the server)
    } else {
      toast("<strong>Something went wrong (" + xhr.status + ").</strong> Reload the page and try again.");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    toast("<strong>The console cannot be reached.</strong> Check your connection, then try again.");
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("#toast .close")) { document.getElementById("toast").hidden = true; }

    // show or hide a message's preview under its row
    var toggle = target.closest("[data-toggle-preview]");
    if (toggle) {
      var row = document.getElementById(toggle.getAttribute("data-toggle-preview"));
      row.hidden = !row.hidden;
      toggle.setAttribute("aria-expanded", String(!row.hidden));
      toggle.textContent = row.hidden ? "Show" : "Hide";
    }
    // quick date picks fill both ends of the range
    var quick = target.closest("[data-from]");
    if (quick) {
      var set = quick.closest("fieldset");
      set.querySelector("input[name$=_from]").value = quick.getAttribute("data-from");
      var to = set.querySelector("input[name$=_to]");
      to.value = quick.getAttribute("data-to");
      to.dispatchEvent(new Event("change", { bubbles: true }));
    }
    if (target.matches("[data-close-dialog]")) { target.closest("dialog").close(); }
  });
  // the search box searches as you type; its "change" on leaving must not search again
  // (which would also close a row just opened)
  document.addEventListener("change", function (event) {
    if (event.target.id === "q") { event.stopPropagation(); }
  }, true);
  // shared links stay short: empty filters are left out of the URL
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id !== "log-filters") { return; }
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "" || (Array.isArray(params[name]) && params[name].length === 0)) {
        delete params[name];
      }
    });
  });
  document.addEventListener("change", function (event) {
    // the header checkbox selects every row on the page
    if (event.target.matches("[data-select-page]")) {
      var rows = event.target.closest("table").querySelectorAll("input[name=uid]");
      rows.forEach(function (box) { box.checked = event.target.checked; });
    }
  });
  // the bulk confirmation opens as a dialog once its text has arrived
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "confirm-body") {
      var dialog = document.getElementById("confirm-dialog");
      if (!dialog.open) { dialog.showModal(); }
    }
  });
})();
