using Shouldly;
using Tally.Domain.Time;
using Xunit;

namespace Tally.Domain.Tests;

public class TenantCalendarTests
{
    [Theory]
    [InlineData("2024-12-30", "2025-W01")] // Monday of ISO week 1 belongs to the next ISO year
    [InlineData("2021-01-03", "2020-W53")] // Sunday in the previous ISO year's week 53
    [InlineData("2025-11-22", "2025-W47")]
    [InlineData("2026-01-01", "2026-W01")]
    public void iso_week_keys_follow_iso_8601(string day, string expected) =>
        TenantCalendar.FormatWeek(TenantCalendar.WeekKey(DateOnly.Parse(day))).ShouldBe(expected);

    [Fact]
    public void local_date_is_the_tenants_not_utc()
    {
        var tokyo = TenantCalendar.For("Asia/Tokyo");
        var la = TenantCalendar.For("America/Los_Angeles");
        var instant = DateTimeOffset.Parse("2025-11-22T20:30:00Z");
        tokyo.LocalDate(instant).ShouldBe(new DateOnly(2025, 11, 23));
        la.LocalDate(instant).ShouldBe(new DateOnly(2025, 11, 22));
    }

    [Fact]
    public void a_dst_day_counts_once_whatever_its_length()
    {
        var berlin = TenantCalendar.For("Europe/Berlin");
        // 2025-03-30 has 23 hours in Berlin: its first and last minute map to the same local day.
        berlin.LocalDate(DateTimeOffset.Parse("2025-03-29T23:00:00Z")).ShouldBe(new DateOnly(2025, 3, 30));
        berlin.LocalDate(DateTimeOffset.Parse("2025-03-30T21:59:00Z")).ShouldBe(new DateOnly(2025, 3, 30));
        berlin.LocalDate(DateTimeOffset.Parse("2025-03-30T22:00:00Z")).ShouldBe(new DateOnly(2025, 3, 31));
        // 2025-10-26 has 25 hours.
        berlin.LocalDate(DateTimeOffset.Parse("2025-10-25T22:00:00Z")).ShouldBe(new DateOnly(2025, 10, 26));
        berlin.LocalDate(DateTimeOffset.Parse("2025-10-26T22:59:00Z")).ShouldBe(new DateOnly(2025, 10, 26));
        berlin.LocalDate(DateTimeOffset.Parse("2025-10-26T23:00:00Z")).ShouldBe(new DateOnly(2025, 10, 27));
    }

    [Fact]
    public void period_keys_are_formatted_as_in_the_api()
    {
        var day = new DateOnly(2025, 3, 7);
        TenantCalendar.FormatDay(day).ShouldBe("2025-03-07");
        TenantCalendar.FormatMonth(TenantCalendar.MonthKey(day)).ShouldBe("2025-03");
        TenantCalendar.FormatYear(TenantCalendar.YearKey(day)).ShouldBe("2025");
    }

    [Fact]
    public void unknown_zone_is_not_found() => TenantCalendar.TryFindZone("Mars/Olympus").ShouldBeNull();
}
