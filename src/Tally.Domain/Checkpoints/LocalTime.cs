namespace Tally.Domain.Checkpoints;

/// <summary>
/// Calendar arithmetic on local date and time in a zone, for window ends: add months or days to the local
/// wall-clock time, keep the time of day, clamp a day the month lacks (Jan 31 + 1 month = Feb 28 or 29),
/// move a time that does not exist (a DST gap) forward by the gap, and take the first of two times that
/// exist twice (a DST overlap).
/// </summary>
public static class LocalTime
{
    public static DateTimeOffset AddMonths(DateTimeOffset instant, int months, TimeZoneInfo zone) =>
        ToInstant(Local(instant, zone).AddMonths(months), zone);

    public static DateTimeOffset AddDays(DateTimeOffset instant, int days, TimeZoneInfo zone) =>
        ToInstant(Local(instant, zone).AddDays(days), zone);

    private static DateTime Local(DateTimeOffset instant, TimeZoneInfo zone) =>
        DateTime.SpecifyKind(TimeZoneInfo.ConvertTime(instant, zone).DateTime, DateTimeKind.Unspecified);

    /// <summary>The instant of a local wall-clock time in <paramref name="zone"/>.</summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // In a gap (e.g. 02:30 when clocks jump from 02:00 to 03:00): the offset before the gap puts it
            // after the gap by as much as it was into it (03:30).
            var before = zone.GetUtcOffset(local.AddHours(-3));
            return new DateTimeOffset(local - before, TimeSpan.Zero).ToOffset(zone.GetUtcOffset(local.AddHours(3)));
        }
        if (zone.IsAmbiguousTime(local))
        {
            // Twice (clocks fall back): the first, with the larger offset.
            var offset = zone.GetAmbiguousTimeOffsets(local).Max();
            return new DateTimeOffset(local, offset);
        }
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }
}
