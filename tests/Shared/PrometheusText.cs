using System.Globalization;
using System.Text.RegularExpressions;

namespace Tally.Testing;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4): every sample belongs to a family declared
/// by <c># TYPE</c>, names and labels are well formed, values parse; counters' samples end in <c>_total</c>;
/// histograms have cumulative <c>_bucket</c> samples up to <c>le="+Inf"</c>, with <c>_sum</c> and <c>_count</c>
/// equal to the +Inf bucket. Throws <see cref="FormatException"/> naming the line on any violation.
/// </summary>
public static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed record Family(string Name, string Type, List<Sample> Samples);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+-?\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""\G\s*(?<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?<v>(?:[^"\\]|\\.)*)"\s*(,|$)""")]
    private static partial Regex LabelPair();

    public static Dictionary<string, Family> Parse(string text)
    {
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        var n = 0;
        foreach (var raw in text.Split('\n'))
        {
            n++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length != 4 || parts[3] is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                    throw new FormatException($"line {n}: bad TYPE: {line}");
                if (!families.TryAdd(parts[2], new Family(parts[2], parts[3], new())))
                    throw new FormatException($"line {n}: family {parts[2]} declared twice");
                continue;
            }
            if (line.StartsWith('#')) continue;
            var m = SampleLine().Match(line);
            if (!m.Success) throw new FormatException($"line {n}: not a sample: {line}");
            var name = m.Groups["name"].Value;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var labelText = m.Groups["labels"].Value;
            var at = 0;
            while (at < labelText.Length)
            {
                var pair = LabelPair().Match(labelText, at);
                if (!pair.Success || pair.Length == 0) throw new FormatException($"line {n}: bad labels: {line}");
                labels[pair.Groups["k"].Value] = pair.Groups["v"].Value;
                at += pair.Length;
            }
            var valueText = m.Groups["value"].Value;
            if (!double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && valueText is not ("+Inf" or "-Inf" or "NaN"))
                throw new FormatException($"line {n}: bad value: {line}");
            var family = FamilyOf(families, name) ?? throw new FormatException($"line {n}: sample {name} has no # TYPE");
            family.Samples.Add(new Sample(name, labels, value));
        }
        foreach (var f in families.Values) Check(f);
        return families;
    }

    private static Family? FamilyOf(Dictionary<string, Family> families, string sample)
    {
        if (families.TryGetValue(sample, out var exact)) return exact;
        foreach (var suffix in new[] { "_total", "_bucket", "_sum", "_count", "_created" })
            if (sample.EndsWith(suffix, StringComparison.Ordinal) && families.TryGetValue(sample[..^suffix.Length], out var f)) return f;
        return null;
    }

    private static void Check(Family f)
    {
        switch (f.Type)
        {
            case "counter":
                foreach (var s in f.Samples)
                    if (!s.Name.EndsWith("_total", StringComparison.Ordinal)) throw new FormatException($"counter sample {s.Name} does not end in _total");
                break;
            case "histogram":
                // Series in exposition order: buckets (ascending le, cumulative, ending in +Inf), then _sum, then _count
                // equal to the +Inf bucket. Read in order, because one process may expose two series with the same
                // labels (several Orleans hosts in one test process each have their own instruments).
                var buckets = new List<Sample>();
                var sawSum = false;
                foreach (var sample in f.Samples)
                {
                    if (sample.Name == f.Name + "_bucket")
                    {
                        if (buckets.Count > 0 && sample.Value < buckets[^1].Value)
                            throw new FormatException($"histogram {f.Name} buckets are not cumulative");
                        buckets.Add(sample);
                    }
                    else if (sample.Name == f.Name + "_sum") sawSum = true;
                    else if (sample.Name == f.Name + "_count")
                    {
                        if (buckets.Count == 0 || buckets[^1].Labels.GetValueOrDefault("le") != "+Inf")
                            throw new FormatException($"histogram {f.Name} has a series without buckets ending in le=\"+Inf\"");
                        if (!sawSum) throw new FormatException($"histogram {f.Name} has a series without _sum");
                        if (sample.Value != buckets[^1].Value) throw new FormatException($"histogram {f.Name}: _count differs from the +Inf bucket");
                        buckets.Clear();
                        sawSum = false;
                    }
                }
                if (buckets.Count > 0) throw new FormatException($"histogram {f.Name} ends without _count");
                break;
        }
    }
}
