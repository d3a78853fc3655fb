// The wall's bar lengths and schedule marks, from their data attributes. Styles set from a script
// file are allowed by the Content-Security-Policy, where inline style="" attributes are not.
document.querySelectorAll("[data-width]").forEach(function (e) { e.style.width = e.dataset.width; });
document.querySelectorAll("[data-left]").forEach(function (e) { e.style.left = e.dataset.left; });
