// signal_inspector's panel: the timeline's filters, and its stylesheet under the
// page's CSP nonce. Loaded by the toolbar as it loads its own panels' scripts;
// a module runs once, so it also watches for the panel being drawn again.
const PANEL_ID = "SignalInspectorPanel";

function toolbarRoot() {
    const host = document.getElementById("djDebugRoot");
    return host && host.shadowRoot ? host.shadowRoot : document;
}

// The content's <link> carries the nonce of the request it records; after the
// History panel switched requests, that is not the page's: copy the nonce of
// the toolbar's own stylesheet, which is.
function ensureStylesheet(root, panel) {
    const ours = panel.querySelector("link.djdt-si-css");
    const theirs = root.querySelector('link[rel="stylesheet"][href*="debug_toolbar/css/toolbar"]');
    if (!ours || !theirs || !theirs.nonce || ours.nonce === theirs.nonce) {
        return;
    }
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = ours.href;
    link.className = "djdt-si-css";
    link.nonce = theirs.nonce;
    ours.replaceWith(link);
}

function applyFilters(panel) {
    const form = panel.querySelector("form.djdt-si-filters");
    if (!form) {
        return;
    }
    const errors = form.elements.errors.checked;
    const slow = form.elements.slow.checked;
    const signal = form.elements.signal.value;
    let shown = 0;
    const trees = panel.querySelectorAll("tbody.djdt-si-tree");
    for (const tree of trees) {
        const keep =
            (!errors || tree.classList.contains("djdt-si-has-error")) &&
            (!slow || tree.classList.contains("djdt-si-has-slow")) &&
            (!signal || tree.dataset.signals.split(" ").includes(signal));
        tree.classList.toggle("djdt-si-filtered", !keep);
        shown += keep;
    }
    form.elements.shown.value =
        shown === trees.length ? "" : `${shown} of ${trees.length} shown`;
}

function setUp() {
    const root = toolbarRoot();
    const panel = root.querySelector(`#${PANEL_ID} .djdt-si`);
    if (!panel || panel.dataset.siReady) {
        return;
    }
    panel.dataset.siReady = "true";
    ensureStylesheet(root, panel);
    const form = panel.querySelector("form.djdt-si-filters");
    if (form) {
        form.addEventListener("change", () => applyFilters(panel));
        form.addEventListener("submit", (event) => event.preventDefault());
        form.classList.remove("djdt-hidden");
        applyFilters(panel);
    }
}

setUp();
// The panel is drawn again when the History panel switches requests.
new MutationObserver(setUp).observe(toolbarRoot(), { childList: true, subtree: true });
