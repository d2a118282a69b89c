// The query page: YASGUI on this server's /sparql, with the competency questions as examples.
// Nothing here, nor in the vendored YASGUI as configured, calls another origin.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("kg-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href).toString();
  var base = "https://w3id.org/duikou/";

  // Yasqe's "class" and "property" autocompleters query lov.linkeddata.es: keep only the
  // local ones. The prefix completer reads our own /prefixes.json (never prefix.cc).
  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    persistenceId: "duikou-kg",
    copyEndpointOnNewTab: true,
    requestConfig: { endpoint: endpoint, method: "GET" },
    endpointCatalogueOptions: {
      getData: function () { return [{ endpoint: endpoint }]; },
      keys: []
    },
    yasqe: { value: config.defaultQuery, prefixCcApi: config.prefixesUrl, resizeable: true,
             editorHeight: "260px" },
    yasr: { prefixes: config.prefixes, pluginOrder: ["table", "response"], defaultPlugin: "table" }
  });

  function local(href) {
    if (href && href.indexOf(base + "id/") === 0) return "/id/" + href.slice((base + "id/").length);
    if (href && href.indexOf(base + "ontology#") === 0) return "/ontology#" + href.slice((base + "ontology#").length);
    return null;
  }

  // Our IRIs in result tables open their pages on this server.
  function relink(root) {
    var links = root.querySelectorAll("a[href^='" + base + "']");
    for (var i = 0; i < links.length; i++) {
      var to = local(links[i].getAttribute("href"));
      if (to) { links[i].setAttribute("href", to); links[i].removeAttribute("target"); }
    }
  }

  function onTab(tab) {
    if (!tab || tab.__kgHooked) return;
    tab.__kgHooked = true;
    var yasqe = tab.getYasqe();
    ["class", "property"].forEach(function (name) {
      if (yasqe && yasqe.config.autocompleters.indexOf(name) >= 0) yasqe.disableCompleter(name);
    });
    if (tab.getEndpoint() !== endpoint) tab.setEndpoint(endpoint);
    var yasr = tab.getYasr();
    if (yasr) yasr.on("drawn", function () { relink(yasr.rootEl); });
  }
  Object.keys(yasgui._tabs).forEach(function (id) { onTab(yasgui.getTab(id)); });
  yasgui.on("tabAdd", function (_y, id) { setTimeout(function () { onTab(yasgui.getTab(id)); }, 0); });
  yasgui.on("tabSelect", function (_y, id) { setTimeout(function () { onTab(yasgui.getTab(id)); }, 0); });
  yasgui.on("queryResponse", function (_y, tab) { onTab(tab); });

  var examples = {};
  config.examples.forEach(function (q) { examples[q.name] = q; });
  document.querySelectorAll("button.example").forEach(function (button) {
    button.addEventListener("click", function () {
      var q = examples[button.getAttribute("data-name")];
      if (!q) return;
      var tab = yasgui.addTab(true, { name: q.title_zh, yasqe: { value: q.query },
                                      requestConfig: { endpoint: endpoint } });
      onTab(tab);
      tab.query();
    });
  });
  window.kgYasgui = yasgui;  // for the browser tests and the curious
})();
