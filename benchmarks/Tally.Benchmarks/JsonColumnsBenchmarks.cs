using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Tally.Domain.Stats;
using Tally.Postgres.EventLog;

namespace Tally.Benchmarks;

/// <summary>
/// The log's <c>measures</c> and <c>dims</c> columns, written once per row on the commit path and read back on every
/// replay: <see cref="JsonColumns"/> (one reusable writer per thread) against what a plain writer would do, a dictionary
/// of the event's values serialized with <see cref="JsonSerializer"/>. An event of the climate profile: two measures,
/// two dimensions.
/// </summary>
[MemoryDiagnoser]
public class JsonColumnsBenchmarks
{
    private readonly MeasureValue[] _measures = [new("co2_saved_kg", 12.375m), new("distance_km", 3.2m)];
    private readonly DimValue[] _dims = [new("country", "DE"), new("org", "org-0017")];
    private string _measuresJson = "";
    private string _dimsJson = "";

    [GlobalSetup]
    public void Setup()
    {
        _measuresJson = JsonColumns.Measures(_measures);
        _dimsJson = JsonColumns.Dims(_dims)!;
    }

    [Benchmark(Baseline = true)]
    public string MeasuresBySerializer() => JsonSerializer.Serialize(_measures.ToDictionary(m => m.Name, m => m.Value));

    [Benchmark]
    public string Measures() => JsonColumns.Measures(_measures);

    [Benchmark]
    public string? Dims() => JsonColumns.Dims(_dims);

    [Benchmark]
    public MeasureValue[] ReadMeasures() => JsonColumns.ReadMeasures(_measuresJson);

    [Benchmark]
    public DimValue[] ReadDims() => JsonColumns.ReadDims(_dimsJson);
}
