using System.Diagnostics.Metrics;

namespace Tally.Postgres.Observability;

/// <summary>
/// Listens to this process's <c>Tally.*</c> meters and keeps running figures: counters as totals,
/// histograms as sum, count and max, gauges as their last value. The API prints them on
/// <c>/metrics</c>; silos publish them to <c>silo_metrics</c> for the API to print.
/// </summary>
public sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, Figure> _figures = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    private sealed class Figure(bool histogram)
    {
        public readonly bool Histogram = histogram;
        public double Sum;
        public long Count;
        public double Max;
        public double Last;
    }

    public MetricsCollector()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!instrument.Meter.Name.StartsWith("Tally.", StringComparison.Ordinal)) return;
            listener.EnableMeasurementEvents(instrument);
            // Shown from the start (as zero), so dashboards and alerts find every series before its first event.
            lock (_gate) _figures.TryAdd(instrument.Name, new Figure(IsHistogram(instrument)));
        };
        _listener.SetMeasurementEventCallback<int>((i, v, _, _) => Record(i, v));
        _listener.SetMeasurementEventCallback<long>((i, v, _, _) => Record(i, v));
        _listener.SetMeasurementEventCallback<double>((i, v, _, _) => Record(i, v));
        _listener.Start();
    }

    /// <summary>Current figures by Prometheus-style name (<c>x</c>, or <c>x_sum</c>/<c>x_count</c>/<c>x_max</c> for histograms).</summary>
    public SortedDictionary<string, double> Snapshot()
    {
        _listener.RecordObservableInstruments();
        var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var (name, f) in _figures)
            {
                if (f.Histogram)
                {
                    result[name + "_sum"] = f.Sum;
                    result[name + "_count"] = f.Count;
                    result[name + "_max"] = f.Max;
                }
                else result[name] = f.Last;
            }
        }
        return result;
    }

    private void Record(Instrument instrument, double value)
    {
        lock (_gate)
        {
            if (!_figures.TryGetValue(instrument.Name, out var f))
                _figures[instrument.Name] = f = new Figure(IsHistogram(instrument));
            f.Sum += value;
            f.Count++;
            if (value > f.Max) f.Max = value;
            // Counters report increments: their figure is the running total. Gauges report the value.
            f.Last = instrument.IsObservable ? value : f.Sum;
        }
    }

    private static bool IsHistogram(Instrument instrument) => instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal);

    public void Dispose() => _listener.Dispose();
}
