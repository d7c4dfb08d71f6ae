using System.Text.Json;

namespace Tally.Domain;

/// <summary>
/// Safe reads of JSON strings and property names. A JSON document may carry text that no store can
/// keep: a <c>\u0000</c> escape (PostgreSQL text and jsonb refuse NUL) or a lone surrogate escape
/// such as <c>\ud800</c> (not valid UTF-16, so not valid UTF-8 either; System.Text.Json throws on
/// reading it). These helpers answer false instead of throwing, so validation can name the field.
/// </summary>
public static class JsonText
{
    /// <summary>The string value, or false when it holds NUL or an unpaired surrogate.</summary>
    public static bool TryGetString(JsonElement element, out string value)
    {
        value = "";
        if (element.ValueKind != JsonValueKind.String) return false;
        try
        {
            value = element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        return value.IndexOf('\0') < 0;
    }

    /// <summary>The property's name, or false when it holds NUL or an unpaired surrogate (then <paramref name="name"/> is printable but not the name).</summary>
    public static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
        }
        catch (InvalidOperationException)
        {
            // Unreadable as text: name it by its escaped form as sent (e.g. org\ud800), which is safe to print.
            name = System.Text.Encoding.UTF8.GetString(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property));
            return false;
        }
        return name.IndexOf('\0') < 0;
    }

    /// <summary>
    /// <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/> that does not throw: looking a name up can
    /// unescape another property's name, and one holding a lone surrogate escape (<c>{"\ud800": 1}</c>) makes that
    /// throw. Then the properties are read one by one, skipping names that cannot be read (they match no name we
    /// look for); the last of duplicates wins, as in the fast path.
    /// </summary>
    public static bool TryGetProperty(JsonElement obj, string name, out JsonElement value)
    {
        try
        {
            return obj.TryGetProperty(name, out value);
        }
        catch (InvalidOperationException)
        {
            var found = false;
            value = default;
            foreach (var property in obj.EnumerateObject())
                if (TryGetName(property, out var n) && n == name)
                {
                    value = property.Value;
                    found = true;
                }
            return found;
        }
    }

    /// <summary>A name for error messages and field paths that is itself safe to print and store.</summary>
    public static string Printable(string text)
    {
        var span = text.AsSpan();
        var clean = true;
        foreach (var c in span)
            if (c == '\0' || char.IsSurrogate(c)) { clean = false; break; }
        if (clean) return text.Length <= 64 ? text : text[..64] + "…";
        var chars = new System.Text.StringBuilder(Math.Min(text.Length, 64));
        for (var i = 0; i < text.Length && chars.Length < 64; i++)
        {
            var c = text[i];
            if (c == '\0') chars.Append("\\u0000");
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) chars.Append(c).Append(text[++i]);
            else if (char.IsSurrogate(c)) chars.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else chars.Append(c);
        }
        return chars.ToString();
    }

    /// <summary>
    /// Checks every string and property name inside a JSON value (a payload) and every number's size.
    /// Returns the dotted path of the first problem below <paramref name="path"/>, or null when the
    /// whole value can be stored as jsonb.
    /// </summary>
    public static string? FindUnstorable(JsonElement element, string path, out string problem)
    {
        problem = "";
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                if (!TryGetString(element, out _))
                {
                    problem = "holds a NUL character, an unpaired surrogate or invalid UTF-8, which cannot be stored";
                    return path;
                }
                return null;
            case JsonValueKind.Number:
                // PostgreSQL's numeric (jsonb numbers) overflows on huge exponents; no payload needs them.
                var raw = element.GetRawText();
                if (raw.Length > MaxNumberChars || ExponentOf(raw) is > MaxExponent or < -MaxExponent)
                {
                    problem = $"is a number too large or too precise to store (at most {MaxNumberChars} characters and exponent ±{MaxExponent})";
                    return path;
                }
                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindUnstorable(item, $"{path}[{i}]", out problem) is { } at) return at;
                    i++;
                }
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!TryGetName(property, out var name))
                    {
                        problem = "has a property name with a NUL character or an unpaired surrogate, which cannot be stored";
                        return path;
                    }
                    if (FindUnstorable(property.Value, $"{path}.{name}", out problem) is { } at) return at;
                }
                return null;
            default:
                return null;
        }
    }

    private const int MaxNumberChars = 256;
    private const int MaxExponent = 1000;

    private static int ExponentOf(string raw)
    {
        var e = raw.IndexOfAny(['e', 'E']);
        if (e < 0) return 0;
        return int.TryParse(raw.AsSpan(e + 1), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var exponent)
            ? exponent
            : int.MaxValue;
    }
}
