using Tally.Domain.Time;

namespace Tally.Domain.Boards;

/// <summary>The keys of the day, ISO week, month and year instances that contain one local day, computed once per event.</summary>
public readonly record struct PeriodKeys(int Day, int Week, int Month, int Year)
{
    public static PeriodKeys Of(DateOnly day) =>
        new(TenantCalendar.DayKey(day), TenantCalendar.WeekKey(day), TenantCalendar.MonthKey(day), TenantCalendar.YearKey(day));

    /// <summary>The key of the instance of <paramref name="kind"/> (0 for all time).</summary>
    public int Of(PeriodKind kind) => kind switch
    {
        PeriodKind.AllTime => 0,
        PeriodKind.Year => Year,
        PeriodKind.Month => Month,
        PeriodKind.Week => Week,
        _ => Day,
    };
}
