/* global document, uPlot */
// dmc-trigger console: draws a broadcast's deliveries over time with uPlot (served by the daemon).
// The data is in <script type="application/json" id="chart-data">: no inline script (the CSP forbids it).
// Times are instants (Unix seconds), drawn on a Paris clock in 24-hour format, whatever the browser's zone.
(function () {
  var holder = document.getElementById('chart');
  var data = document.getElementById('chart-data');
  if (!holder || !data || typeof uPlot === 'undefined') return;
  var d = JSON.parse(data.textContent);
  var locale = d.lang === 'fr' ? 'fr-FR' : 'en-GB';
  var zone = { timeZone: 'Europe/Paris', hourCycle: 'h23' };
  var hm = new Intl.DateTimeFormat(locale, Object.assign({ hour: '2-digit', minute: '2-digit' }, zone));
  var dayHm = new Intl.DateTimeFormat(locale, Object.assign({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }, zone));
  var count = new Intl.NumberFormat(locale);
  var width = Math.max(320, holder.clientWidth - 16);
  var spansDays = d.series[0].length > 1 && d.series[0][d.series[0].length - 1] - d.series[0][0] > 86400;
  new uPlot(
    {
      width: width,
      height: 300,
      series: [
        {
          label: d.time,
          value: function (u, v) {
            return v == null ? '' : dayHm.format(new Date(v * 1000));
          },
        },
        { label: d.labels[0], stroke: '#1a7f37', width: 2 },
        { label: d.labels[1], stroke: '#b42318', width: 2 },
      ],
      axes: [
        {
          label: d.time,
          values: function (u, splits) {
            return splits.map(function (v) {
              return (spansDays ? dayHm : hm).format(new Date(v * 1000));
            });
          },
        },
        {
          label: d.contacts,
          values: function (u, splits) {
            return splits.map(function (v) {
              return count.format(v);
            });
          },
          // Wide enough for the longest label at any magnitude ("14 000" is not cut to "4 000").
          size: function (u, values) {
            var longest = (values || []).reduce(function (n, s) {
              return Math.max(n, String(s).length);
            }, 1);
            return 24 + longest * 8;
          },
        },
      ],
    },
    d.series,
    holder,
  );
})();
