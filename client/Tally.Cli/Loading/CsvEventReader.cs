using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;
using CsvHelper.Configuration;

namespace Tally.Cli.Loading;

/// <summary>One CSV record: the event it makes, or why it makes none (the field, and its column).</summary>
internal sealed record CsvRecord(long Line, JsonObject? Event, string? Field = null, string? Column = null, string? Code = null, string? Error = null);

/// <summary>
/// Old per-user action rows as Tally events. The header names the columns; each column is an event field
/// (<c>user_id</c>, <c>action</c>, <c>occurred_at</c>, <c>idempotency_key</c>, <c>payload</c>), a measure or a
/// dimension the tenant declares, or else it is kept in the event's payload under its own name, so nothing is lost.
/// The seed's names <c>action_id</c> and <c>event_timestamp</c> are understood; <c>--map COLUMN=FIELD</c> maps others.
/// Without an <c>idempotency_key</c> column each row's key is a hash of its cells (and its position among identical
/// rows), so importing the same file again adds nothing.
/// </summary>
internal sealed class CsvEventReader
{
    private static readonly string[] Fields = ["user_id", "action", "occurred_at", "idempotency_key", "payload"];
    private static readonly Dictionary<string, string> SeedNames = new(StringComparer.Ordinal)
    {
        ["action_id"] = "action", ["action_type"] = "action", ["event_timestamp"] = "occurred_at", ["timestamp"] = "occurred_at",
    };

    private enum Kind { Field, Measure, Dimension, Extra }

    private readonly (string Column, Kind Kind, string Target)[] _columns;
    private readonly Dictionary<UInt128, int> _seen = new();

    private CsvEventReader((string, Kind, string)[] columns) => _columns = columns;

    /// <summary>The column that fed a field (for reports), or null.</summary>
    public string? ColumnOf(string? field)
    {
        if (field is null) return null;
        foreach (var (column, kind, target) in _columns)
        {
            var path = kind switch { Kind.Measure => "measures." + target, Kind.Dimension => "dims." + target, _ => target };
            if (field == path || field.StartsWith(path + ".", StringComparison.Ordinal) || field.StartsWith(path + "[", StringComparison.Ordinal)) return column;
        }
        return null;
    }

    /// <summary>Maps a header against the tenant's config; a header that cannot make events is an error naming what is missing.</summary>
    public static CsvEventReader ForHeader(string[] header, JsonObject config, IReadOnlyDictionary<string, string> map)
    {
        var measures = (config["measures"] as JsonObject)?.Select(m => m.Key).ToHashSet(StringComparer.Ordinal) ?? [];
        var dims = (config["dimensions"] as JsonArray)?.Select(d => (string)d!).ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var (column, target) in map)
        {
            if (!header.Contains(column, StringComparer.Ordinal))
                throw new CliException($"--map {column}={target}: the file has no column '{column}' (its columns: {string.Join(", ", header)}).");
            if (!Fields.Contains(target) && !measures.Contains(target) && !dims.Contains(target))
                throw new CliException($"--map {column}={target}: '{target}' is not an event field ({string.Join(", ", Fields)}), nor a measure ({string.Join(", ", measures)}) nor a dimension ({string.Join(", ", dims)}) of the tenant.");
        }
        var columns = new List<(string, Kind, string)>();
        foreach (var column in header)
        {
            var name = map.TryGetValue(column, out var mapped) ? mapped : column.Trim().ToLowerInvariant();
            if (!map.ContainsKey(column) && SeedNames.TryGetValue(name, out var seed)) name = seed;
            var kind = Fields.Contains(name) ? Kind.Field : measures.Contains(name) ? Kind.Measure : dims.Contains(name) ? Kind.Dimension : Kind.Extra;
            var target = kind == Kind.Extra ? column : name;
            if (kind != Kind.Extra && columns.Any(c => c.Item2 == kind && c.Item3 == target))
                throw new CliException($"Two columns feed '{target}': {string.Join(" and ", columns.Where(c => c.Item3 == target).Select(c => c.Item1).Append(column))}.");
            columns.Add((column, kind, target));
        }
        foreach (var required in new[] { "user_id", "action", "occurred_at" })
            if (!columns.Any(c => c.Item2 == Kind.Field && c.Item3 == required))
                throw new CliException($"The file has no column for {required} (its columns: {string.Join(", ", header)}); name one with --map COLUMN={required}.");
        if (!columns.Any(c => c.Item2 == Kind.Measure))
            throw new CliException($"The file has no column for any of the tenant's measures ({string.Join(", ", measures)}); name one with --map COLUMN=MEASURE.");
        return new CsvEventReader([.. columns]);
    }

    /// <summary>Reads every record of the file, in order.</summary>
    public static IEnumerable<CsvRecord> Read(string path, JsonObject config, IReadOnlyDictionary<string, string> map, Action<CsvEventReader> opened)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { DetectColumnCountChanges = false, BadDataFound = null });
        if (!csv.Read() || !csv.ReadHeader()) throw new CliException($"{path} is empty: the first line must name the columns.");
        var mapper = ForHeader(csv.HeaderRecord!, config, map);
        opened(mapper);
        while (csv.Read())
        {
            var cells = new string[mapper._columns.Length];
            for (var i = 0; i < cells.Length; i++) cells[i] = csv.TryGetField<string>(i, out var cell) ? cell ?? "" : "";
            yield return mapper.ToEvent(csv.Parser.RawRow, cells, csv.Parser.Count);
        }
    }

    private CsvRecord ToEvent(long line, string[] cells, int count)
    {
        if (count != _columns.Length)
            return new CsvRecord(line, null, null, null, "wrong_column_count", $"the row has {count} cells; the header names {_columns.Length} columns.");
        var e = new JsonObject();
        var measures = new JsonObject();
        var dims = new JsonObject();
        JsonObject? payload = null;
        JsonNode? payloadCell = null;
        for (var i = 0; i < cells.Length; i++)
        {
            var (column, kind, target) = _columns[i];
            var text = cells[i];
            if (text.Length == 0) continue;
            switch (kind)
            {
                case Kind.Measure:
                    if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                        return Bad(line, "measures." + target, column, "invalid_number", $"'{Clip(text)}' is not a number.");
                    measures[target] = value;
                    break;
                case Kind.Dimension:
                    dims[target] = text;
                    break;
                case Kind.Extra:
                    (payload ??= new JsonObject())[column] = decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                        ? JsonValue.Create(number) : JsonValue.Create(text);
                    break;
                case Kind.Field when target == "occurred_at":
                    if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                        return Bad(line, target, column, "invalid_timestamp", $"'{Clip(text)}' is not a date and time (RFC 3339, e.g. 2025-11-22T10:00:00Z; without an offset it is read as UTC).");
                    e[target] = at.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);
                    break;
                case Kind.Field when target == "payload":
                    try
                    {
                        payloadCell = JsonNode.Parse(text);
                    }
                    catch (JsonException)
                    {
                        return Bad(line, target, column, "invalid_json", "the payload cell is not JSON.");
                    }
                    break;
                default:
                    e[target] = text;
                    break;
            }
        }
        if (measures.Count > 0) e["measures"] = measures;
        if (dims.Count > 0) e["dims"] = dims;
        if (payloadCell is JsonObject cellObject && payload is not null)
            foreach (var (name, value) in payload.ToArray()) { payload.Remove(name); cellObject[name] = value; }
        else if (payloadCell is not null && payload is not null)
            (payload["payload"], payloadCell) = (payloadCell, null); // a payload that is not an object, beside other columns
        if ((payloadCell ?? payload) is { } p) e["payload"] = p;
        if (!e.ContainsKey("idempotency_key")) e["idempotency_key"] = KeyOf(cells);
        return new CsvRecord(line, e);
    }

    // The hash of the cells, and which identical row of the file this is: the same file gives the same keys.
    private string KeyOf(string[] cells)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', cells)));
        var id = new UInt128(BitConverter.ToUInt64(hash, 0), BitConverter.ToUInt64(hash, 8));
        _seen[id] = _seen.TryGetValue(id, out var n) ? n + 1 : 0;
        return $"import-{Convert.ToHexStringLower(hash, 0, 16)}-{_seen[id]}";
    }

    private static CsvRecord Bad(long line, string field, string column, string code, string message) => new(line, null, field, column, code, message);

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
