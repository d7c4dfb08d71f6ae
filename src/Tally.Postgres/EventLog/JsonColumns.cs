using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Tally.Domain.Stats;

namespace Tally.Postgres.EventLog;

/// <summary>
/// Writes the log's <c>measures</c> and <c>dims</c> JSON columns from an event's values and reads them
/// back, so an event's measures exist once (as values) until they reach the log. Runs per row on the
/// commit path: one reusable buffer per thread, no intermediate objects.
/// </summary>
internal static class JsonColumns
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic] private static ArrayBufferWriter<byte>? _buffer;
    [ThreadStatic] private static Utf8JsonWriter? _writer;

    public static string Measures(MeasureValue[] measures)
    {
        var writer = Start();
        writer.WriteStartObject();
        foreach (var m in measures) writer.WriteNumber(m.Name, m.Value);
        writer.WriteEndObject();
        return Finish(writer);
    }

    public static string? Dims(DimValue[] dims)
    {
        if (dims.Length == 0) return null;
        var writer = Start();
        writer.WriteStartObject();
        foreach (var d in dims) writer.WriteString(d.Name, d.Value);
        writer.WriteEndObject();
        return Finish(writer);
    }

    public static MeasureValue[] ReadMeasures(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var measures = new MeasureValue[doc.RootElement.GetPropertyCount()];
        var i = 0;
        foreach (var p in doc.RootElement.EnumerateObject()) measures[i++] = new MeasureValue(p.Name, p.Value.GetDecimal());
        return measures;
    }

    public static DimValue[] ReadDims(string? json)
    {
        if (json is null) return [];
        using var doc = JsonDocument.Parse(json);
        var dims = new List<DimValue>(2);
        foreach (var p in doc.RootElement.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.String) dims.Add(new DimValue(p.Name, p.Value.GetString()!));
        return dims.ToArray();
    }

    private static Utf8JsonWriter Start()
    {
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        if (_writer is null) _writer = new Utf8JsonWriter(buffer, WriterOptions);
        else _writer.Reset(buffer);
        return _writer;
    }

    private static string Finish(Utf8JsonWriter writer)
    {
        writer.Flush();
        return Encoding.UTF8.GetString(_buffer!.WrittenSpan);
    }
}
