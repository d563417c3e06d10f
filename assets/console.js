/* global document, uPlot */
// dmc-trigger console: draws a broadcast's deliveries over time with uPlot (served by the daemon).
// The data is in <script type="application/json" id="chart-data">: no inline script (the CSP forbids it).
(function () {
  var holder = document.getElementById('chart');
  var data = document.getElementById('chart-data');
  if (!holder || !data || typeof uPlot === 'undefined') return;
  var d = JSON.parse(data.textContent);
  var width = Math.max(320, holder.clientWidth - 16);
  new uPlot(
    {
      width: width,
      height: 300,
      tzDate: function (ts) {
        return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
      },
      series: [{}, { label: d.labels[0], stroke: '#1a7f37', width: 2 }, { label: d.labels[1], stroke: '#b42318', width: 2 }],
      axes: [{}, {}],
    },
    d.series,
    holder,
  );
})();
