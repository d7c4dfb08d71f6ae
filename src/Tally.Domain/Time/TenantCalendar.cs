using System.Globalization;

namespace Tally.Domain.Time;

/// <summary>
/// Maps instants to the tenant's local days and names period instances. Days are counted as
/// <see cref="DateOnly.DayNumber"/>; a DST day is still one day because we bucket by local date,
/// never by 24-hour spans.
/// </summary>
public sealed class TenantCalendar
{
    public TenantCalendar(TimeZoneInfo zone) => Zone = zone;

    public TimeZoneInfo Zone { get; }

    public static TimeZoneInfo? TryFindZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        return TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;
    }

    public static TenantCalendar For(string zoneId) =>
        new(TryFindZone(zoneId) ?? throw new ArgumentException($"Unknown time zone '{zoneId}'.", nameof(zoneId)));

    public DateOnly LocalDate(DateTimeOffset instant) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, Zone).DateTime);

    public static int DayKey(DateOnly day) => day.DayNumber;

    public static int WeekKey(DateOnly day)
    {
        var dt = day.ToDateTime(TimeOnly.MinValue);
        return ISOWeek.GetYear(dt) * 100 + ISOWeek.GetWeekOfYear(dt);
    }

    public static int MonthKey(DateOnly day) => day.Year * 100 + day.Month;

    public static int YearKey(DateOnly day) => day.Year;

    public static string FormatDay(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string FormatWeek(int weekKey) => $"{weekKey / 100:D4}-W{weekKey % 100:D2}";

    public static string FormatMonth(int monthKey) => $"{monthKey / 100:D4}-{monthKey % 100:D2}";

    public static string FormatYear(int yearKey) => yearKey.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>The first local day of an ISO week key.</summary>
    public static DateOnly WeekStart(int weekKey) =>
        DateOnly.FromDateTime(ISOWeek.ToDateTime(weekKey / 100, weekKey % 100, DayOfWeek.Monday));
}
