using System.Globalization;
using Tally.Domain.Time;

namespace Tally.Domain.Boards;

/// <summary>The period kinds of boards and rollups. Values are stored; do not renumber.</summary>
public enum PeriodKind : byte
{
    AllTime = 0,
    Year = 1,
    Month = 2,
    Week = 3,
    Day = 4,
}

/// <summary>Names, keys and boundaries of period instances in the tenant's calendar.</summary>
public static class Periods
{
    /// <summary>The years a period key may name. The last is 9998, not 9999: an instance's end and the next
    /// instance's start must exist as dates (9999-12 ends on the last day <see cref="DateOnly"/> holds).</summary>
    public const int MinYear = 1, MaxYear = 9998;

    public static string Name(PeriodKind kind) => kind switch
    {
        PeriodKind.AllTime => "all_time",
        PeriodKind.Year => "year",
        PeriodKind.Month => "month",
        PeriodKind.Week => "week",
        _ => "day",
    };

    public static bool TryParseName(string? name, out PeriodKind kind)
    {
        switch (name)
        {
            case "all_time": kind = PeriodKind.AllTime; return true;
            case "year": kind = PeriodKind.Year; return true;
            case "month": kind = PeriodKind.Month; return true;
            case "week": kind = PeriodKind.Week; return true;
            case "day": kind = PeriodKind.Day; return true;
            default: kind = default; return false;
        }
    }

    /// <summary>The key of the instance of <paramref name="kind"/> that contains a local day (0 for all time).</summary>
    public static int KeyOf(PeriodKind kind, DateOnly day) => kind switch
    {
        PeriodKind.AllTime => 0,
        PeriodKind.Year => TenantCalendar.YearKey(day),
        PeriodKind.Month => TenantCalendar.MonthKey(day),
        PeriodKind.Week => TenantCalendar.WeekKey(day),
        _ => TenantCalendar.DayKey(day),
    };

    /// <summary>The key as the API writes it: <c>all_time</c>, <c>2025</c>, <c>2025-11</c>, <c>2025-W47</c>, <c>2025-11-22</c>.</summary>
    public static string FormatKey(PeriodKind kind, int key) => kind switch
    {
        PeriodKind.AllTime => "all_time",
        PeriodKind.Year => TenantCalendar.FormatYear(key),
        PeriodKind.Month => TenantCalendar.FormatMonth(key),
        PeriodKind.Week => TenantCalendar.FormatWeek(key),
        _ => TenantCalendar.FormatDay(DateOnly.FromDayNumber(key)),
    };

    public static bool TryParseKey(PeriodKind kind, string? text, out int key)
    {
        key = 0;
        if (string.IsNullOrEmpty(text)) return false;
        var inv = CultureInfo.InvariantCulture;
        switch (kind)
        {
            case PeriodKind.AllTime:
                return text == "all_time";
            case PeriodKind.Year:
                if (text.Length == 4 && int.TryParse(text, NumberStyles.None, inv, out var year) && year is >= MinYear and <= MaxYear)
                {
                    key = year;
                    return true;
                }
                return false;
            case PeriodKind.Month:
                if (text.Length == 7 && DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", inv, DateTimeStyles.None, out var month) && month.Year <= MaxYear)
                {
                    key = TenantCalendar.MonthKey(month);
                    return true;
                }
                return false;
            case PeriodKind.Week:
                if (text.Length == 8 && text[4] == '-' && text[5] == 'W'
                    && int.TryParse(text.AsSpan(0, 4), NumberStyles.None, inv, out var isoYear) && isoYear is >= MinYear and <= MaxYear
                    && int.TryParse(text.AsSpan(6, 2), NumberStyles.None, inv, out var week)
                    && week >= 1 && week <= ISOWeek.GetWeeksInYear(isoYear))
                {
                    key = isoYear * 100 + week;
                    return true;
                }
                return false;
            default:
                if (text.Length == 10 && DateOnly.TryParseExact(text, "yyyy-MM-dd", inv, DateTimeStyles.None, out var day) && day.Year <= MaxYear)
                {
                    key = TenantCalendar.DayKey(day);
                    return true;
                }
                return false;
        }
    }

    /// <summary>The last local day of a period instance (<see cref="DateOnly.MaxValue"/> for all time).</summary>
    public static DateOnly LastDay(PeriodKind kind, int key) => kind switch
    {
        PeriodKind.AllTime => DateOnly.MaxValue,
        PeriodKind.Year => new DateOnly(key, 12, 31),
        PeriodKind.Month => new DateOnly(key / 100, key % 100, 1).AddMonths(1).AddDays(-1),
        PeriodKind.Week => TenantCalendar.WeekStart(key).AddDays(6),
        _ => DateOnly.FromDayNumber(key),
    };

    /// <summary>Whether the instance ended before <paramref name="today"/>.</summary>
    public static bool IsClosed(PeriodKind kind, int key, DateOnly today) =>
        kind != PeriodKind.AllTime && LastDay(kind, key) < today;
}
