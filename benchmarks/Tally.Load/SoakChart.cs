using System.Globalization;
using ScottPlot;

namespace Tally.Cli.Bench;

/// <summary>
/// The soak as one PNG of three panels over the same minutes: accepted events/s against the target, ingest and read
/// p99 (log scale, with their limits), and the silo's RSS with PostgreSQL's memory. Each point is a sample window,
/// placed at its end; the dotted line marks the end of warm-up.
/// </summary>
internal static class SoakChart
{
    public const int WidthPx = 1200;
    public const int HeightPx = 900;
    private const float LineWidth = 2;
    /// <summary>The same margins around every panel's data area (left: tick labels and axis title; right: the legend),
    /// so the three panels' minutes line up one above the other.</summary>
    private static readonly PixelPadding Margins = new(left: 90, right: 230, bottom: 45, top: 40);

    private static readonly Color Accepted = Colors.SteelBlue;
    private static readonly Color Ingest = Colors.OrangeRed;
    private static readonly Color Read = Colors.SeaGreen;
    private static readonly Color Silo = Colors.SteelBlue;
    private static readonly Color Postgres = Colors.DarkOrange;

    public static void Save(string path, IReadOnlyList<SoakSample> samples, double targetPerSecond, string title)
    {
        var minutes = samples.Select(s => s.End.TotalMinutes).ToArray();
        var lastMinute = Math.Max(minutes.DefaultIfEmpty(0).Max(), SoakVerdict.WarmUp.TotalMinutes);

        var rate = new Plot();
        rate.Title(title);
        rate.YLabel("events/s");
        Line(rate, minutes, samples.Select(s => s.AcceptedPerSecond).ToArray(), Accepted, "accepted events/s");
        Threshold(rate, targetPerSecond, Colors.Black, $"target {targetPerSecond.ToString("N0", CultureInfo.InvariantCulture)}/s");
        var highest = Math.Max(targetPerSecond, samples.Select(s => s.AcceptedPerSecond).DefaultIfEmpty(0).Max());
        rate.Axes.SetLimitsY(0, highest * 1.15);

        var latency = new Plot();
        latency.YLabel("p99 ms (log)");
        Line(latency, minutes, samples.Select(s => s.IngestP99Ms).ToArray(), Ingest, "ingest p99", log: true);
        Line(latency, minutes, samples.Select(s => s.ReadP99Ms).ToArray(), Read, "read p99", log: true);
        Threshold(latency, Math.Log10(SoakVerdict.IngestP99LimitMs), Ingest, $"ingest limit {SoakVerdict.IngestP99LimitMs:0} ms");
        Threshold(latency, Math.Log10(SoakVerdict.ReadP99LimitMs), Read, $"read limit {SoakVerdict.ReadP99LimitMs:0} ms");
        latency.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = log => Math.Pow(10, log).ToString("0.###", CultureInfo.InvariantCulture),
        };

        var memory = new Plot();
        memory.YLabel("MB");
        memory.XLabel("minutes");
        Line(memory, minutes, samples.Select(s => s.SiloRssMb ?? double.NaN).ToArray(), Silo, "silo RSS");
        Line(memory, minutes, samples.Select(s => s.PostgresMb ?? double.NaN).ToArray(), Postgres, "PostgreSQL (PSS)");
        var mostMb = samples.SelectMany(s => new[] { s.SiloRssMb ?? 0, s.PostgresMb ?? 0 }).DefaultIfEmpty(0).Max();
        memory.Axes.SetLimitsY(0, Math.Max(mostMb, 1) * 1.15);

        var multiplot = new Multiplot();
        multiplot.Reset(rate); // a new multiplot holds one empty plot of its own
        multiplot.AddPlot(latency);
        multiplot.AddPlot(memory);
        foreach (var plot in new[] { rate, latency, memory })
        {
            var warmUp = plot.Add.VerticalLine(SoakVerdict.WarmUp.TotalMinutes, 1, Colors.Gray, LinePattern.Dotted);
            warmUp.ExcludeFromLegend = true;
            plot.Axes.SetLimitsX(0, lastMinute);
            plot.Layout.Fixed(Margins);
            plot.ShowLegend(Edge.Right); // beside the data, never over it
        }
        multiplot.SavePng(path, WidthPx, HeightPx);
    }

    /// <summary>A series without its missing points (NaN: nothing answered, or a figure not readable), on a log10 scale if asked.</summary>
    private static void Line(Plot plot, double[] xs, double[] ys, Color color, string label, bool log = false)
    {
        var points = xs.Zip(ys).Where(p => double.IsFinite(p.Second) && (!log || p.Second > 0)).ToArray();
        if (points.Length == 0) return;
        var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => log ? Math.Log10(p.Second) : p.Second).ToArray(), color);
        line.LineWidth = LineWidth;
        line.MarkerSize = points.Length > 60 ? 0 : 4; // markers only while they do not merge into a band
        line.LegendText = label;
    }

    private static void Threshold(Plot plot, double y, Color color, string label)
    {
        var line = plot.Add.HorizontalLine(y, 1, color, LinePattern.Dashed);
        line.LegendText = label;
    }
}
