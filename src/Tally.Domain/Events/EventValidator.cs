using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tally.Domain.Config;
using Tally.Domain.Stats;

namespace Tally.Domain.Events;

/// <summary>
/// Applies the field rules of <c>POST /v1/events</c> to one event. Every error names the field
/// by its path in the request (<c>events[3].measures.co2_saved_kg</c>).
/// </summary>
public static partial class EventValidator
{
    public const int MaxUserIdLength = 128;
    public const int MaxActionLength = 64;
    public const int MaxKeyLength = 128;
    public const int MaxDimValueLength = 128;
    public const int MaxPayloadBytes = 16 * 1024;
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromHours(1);

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,64}$")]
    private static partial Regex ActionRegex();

    // RFC 3339 date-time: full date, 'T' (or 't'/space not allowed here), time, optional fraction, Z or offset.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339Regex();

    /// <summary>The idempotency key as sent, if it is a string (results echo it even for rejected events).</summary>
    public static string? KeyOf(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("idempotency_key", out var k) && k.ValueKind == JsonValueKind.String
            ? k.GetString()
            : null;

    /// <summary>Validates the event at <paramref name="index"/> of the request. Field paths are built only
    /// for the error, never for a valid event (this runs once per event).</summary>
    public static ValidEvent? Validate(JsonElement e, int index, TenantConfig config, DateTimeOffset now, out ValidationError? error)
    {
        error = null;
        if (e.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_event", "Each event must be a JSON object.", FieldPath(index));
            return null;
        }

        var userId = RequiredString(e, "user_id", index, MaxUserIdLength, ref error);
        if (error is not null) return null;

        var action = RequiredString(e, "action", index, MaxActionLength, ref error);
        if (error is not null) return null;
        if (!ActionRegex().IsMatch(action!))
        {
            error = new("invalid_format", "action may only contain letters, digits and _ . : -", FieldPath(index, "action"));
            return null;
        }

        var measures = ReadMeasures(e, index, config, ref error);
        if (error is not null) return null;

        var dims = ReadDims(e, index, config, ref error);
        if (error is not null) return null;

        var occurredAt = ReadOccurredAt(e, index, config, now, ref error);
        if (error is not null) return null;

        var key = RequiredString(e, "idempotency_key", index, MaxKeyLength, ref error);
        if (error is not null) return null;

        string? payload = null;
        if (e.TryGetProperty("payload", out var p) && p.ValueKind != JsonValueKind.Null)
        {
            payload = p.GetRawText();
            if (System.Text.Encoding.UTF8.GetByteCount(payload) > MaxPayloadBytes)
            {
                error = new("payload_too_large", $"payload must be at most {MaxPayloadBytes} bytes serialized.", FieldPath(index, "payload"));
                return null;
            }
        }

        return new ValidEvent(userId!, action!, occurredAt, key!, measures!, dims!, payload);
    }

    private static string FieldPath(int index) => $"events[{index}]";

    private static string FieldPath(int index, string field) => $"events[{index}].{field}";

    private static string FieldPath(int index, string field, string name) => $"events[{index}].{field}.{name}";

    private static string? RequiredString(JsonElement e, string name, int index, int maxLength, ref ValidationError? error)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            error = new("missing_field", $"{name} is required.", FieldPath(index, name));
            return null;
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            error = new("invalid_type", $"{name} must be a string.", FieldPath(index, name));
            return null;
        }
        var s = v.GetString()!;
        if (s.Length == 0 || s.Length > maxLength)
        {
            error = new("invalid_length", $"{name} must be 1 to {maxLength} characters.", FieldPath(index, name));
            return null;
        }
        return s;
    }

    private static MeasureValue[]? ReadMeasures(JsonElement e, int index, TenantConfig config, ref ValidationError? error)
    {
        if (!e.TryGetProperty("measures", out var m) || m.ValueKind == JsonValueKind.Null)
        {
            error = new("missing_field", "measures is required.", FieldPath(index, "measures"));
            return null;
        }
        if (m.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_type", "measures must be an object of name to number.", FieldPath(index, "measures"));
            return null;
        }
        var values = new List<MeasureValue>(4);
        foreach (var prop in m.EnumerateObject())
        {
            if (!config.Measures.TryGetValue(prop.Name, out var rule))
            {
                error = new("unknown_measure", $"'{prop.Name}' is not a measure declared by this tenant.", FieldPath(index, "measures", prop.Name));
                return null;
            }
            if (prop.Value.ValueKind != JsonValueKind.Number)
            {
                error = new("invalid_type", $"{prop.Name} must be a number.", FieldPath(index, "measures", prop.Name));
                return null;
            }
            if (!prop.Value.TryGetDecimal(out var value))
            {
                error = new("invalid_number", $"{prop.Name} must be a finite number within decimal range.", FieldPath(index, "measures", prop.Name));
                return null;
            }
            if ((rule.Min is { } min && value < min) || (rule.Max is { } max && value > max))
            {
                error = new("measure_out_of_range",
                    $"{prop.Name} must be between {rule.Min?.ToString(CultureInfo.InvariantCulture) ?? "-inf"} and {rule.Max?.ToString(CultureInfo.InvariantCulture) ?? "+inf"}.", FieldPath(index, "measures", prop.Name));
                return null;
            }
            foreach (var seen in values)
                if (seen.Name == prop.Name)
                {
                    error = new("duplicate_measure", $"{prop.Name} appears twice.", FieldPath(index, "measures", prop.Name));
                    return null;
                }
            values.Add(new MeasureValue(prop.Name, value));
        }
        if (values.Count == 0)
        {
            error = new("missing_field", "measures must have at least one entry.", FieldPath(index, "measures"));
            return null;
        }
        return values.ToArray();
    }

    private static KeyValuePair<string, string>[]? ReadDims(JsonElement e, int index, TenantConfig config, ref ValidationError? error)
    {
        if (!e.TryGetProperty("dims", out var d) || d.ValueKind == JsonValueKind.Null)
            return [];
        if (d.ValueKind != JsonValueKind.Object)
        {
            error = new("invalid_type", "dims must be an object of name to string.", FieldPath(index, "dims"));
            return null;
        }
        var dims = new List<KeyValuePair<string, string>>(2);
        foreach (var prop in d.EnumerateObject())
        {
            if (!config.Dimensions.Contains(prop.Name))
            {
                error = new("unknown_dimension", $"'{prop.Name}' is not a dimension declared by this tenant.", FieldPath(index, "dims", prop.Name));
                return null;
            }
            if (prop.Value.ValueKind != JsonValueKind.String)
            {
                error = new("invalid_type", $"{prop.Name} must be a string.", FieldPath(index, "dims", prop.Name));
                return null;
            }
            var value = prop.Value.GetString()!;
            if (value.Length == 0 || value.Length > MaxDimValueLength)
            {
                error = new("invalid_length", $"{prop.Name} must be 1 to {MaxDimValueLength} characters.", FieldPath(index, "dims", prop.Name));
                return null;
            }
            if (prop.Name == "country" && !CountryCodes.IsAssigned(value))
            {
                error = new("invalid_country", "country must be an ISO 3166-1 alpha-2 code in upper case, like US.", FieldPath(index, "dims", prop.Name));
                return null;
            }
            dims.Add(new(prop.Name, value));
        }
        return dims.ToArray();
    }

    private static DateTimeOffset ReadOccurredAt(JsonElement e, int index, TenantConfig config, DateTimeOffset now, ref ValidationError? error)
    {
        const string field = "occurred_at";
        if (!e.TryGetProperty("occurred_at", out var v) || v.ValueKind == JsonValueKind.Null)
        {
            error = new("missing_field", "occurred_at is required.", FieldPath(index, field));
            return default;
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            error = new("invalid_type", "occurred_at must be an RFC 3339 string.", FieldPath(index, field));
            return default;
        }
        var text = v.GetString()!;
        if (!Rfc3339Regex().IsMatch(text) ||
            !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
        {
            error = new("invalid_timestamp", "occurred_at must be RFC 3339 with an offset, like 2025-11-22T10:00:00Z.", FieldPath(index, field));
            return default;
        }
        if (at > now + MaxFutureSkew)
        {
            error = new("occurred_at_in_future", "occurred_at is more than 1 hour in the future.", FieldPath(index, field));
            return default;
        }
        if (at < now.AddMonths(-config.Retention.RawEventsMonths))
        {
            error = new("occurred_at_too_old", $"occurred_at is older than the raw retention of {config.Retention.RawEventsMonths} months.", FieldPath(index, field));
            return default;
        }
        return at;
    }
}
