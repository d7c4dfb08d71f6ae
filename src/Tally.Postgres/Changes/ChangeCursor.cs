using System.Globalization;

namespace Tally.Postgres.Changes;

/// <summary>A change's id: its number in the tenant's feed as 16 hex digits, so ids compare in feed order as strings too.</summary>
internal static class ChangeCursor
{
    public static string Format(long seq) => seq.ToString("x16", CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out long seq)
    {
        seq = 0;
        return text.Length == 16 && long.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out seq) && seq >= 0;
    }
}
