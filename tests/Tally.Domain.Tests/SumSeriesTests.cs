using CsCheck;
using Shouldly;
using Tally.Domain.Stats;
using Xunit;

namespace Tally.Domain.Tests;

public class SumSeriesTests
{
    // Values with up to 8 decimals, and some near the user-sum bound: both the compact and the exact path.
    private static readonly Gen<decimal> GenValue = Gen.OneOf(
        Gen.Int[-100_000, 100_000].Select(c => c / 100m),
        Gen.Long[-1_000_000_000_000_000, 1_000_000_000_000_000].Select(v => v / 100_000_000m),
        Gen.Long[-1_000_000_000_000, 1_000_000_000_000].Select(v => (decimal)v * 1_000_000m));

    [Fact]
    public void sums_are_exact_whatever_the_values_and_the_order()
    {
        Gen.Select(Gen.Int[0, 400], GenValue).Array[0, 300].Sample(adds =>
        {
            var series = new SumSeries();
            var reference = new Dictionary<int, decimal>();
            foreach (var (key, value) in adds)
            {
                series.Add(key, value);
                reference[key] = reference.GetValueOrDefault(key) + value;
            }
            series.Count.ShouldBe(reference.Count);
            foreach (var (key, sum) in reference) series.SumOf(key).ShouldBe(sum);
            series.Entries().Select(e => e.Key).ShouldBe(reference.Keys.Order());
            series.RemoveWhere(k => k % 2 == 0);
            foreach (var (key, sum) in reference) series.SumOf(key).ShouldBe(key % 2 == 0 ? 0m : sum);
        }, iter: 500);
    }

    [Fact]
    public void a_year_of_daily_sums_of_one_measure_takes_about_twelve_bytes_a_day()
    {
        var series = new SumSeries();
        for (var day = 0; day < 365; day++) series.Add(day, 1.25m);
        series.AllocatedBytes.ShouldBeLessThanOrEqualTo(365 * 12 * 3 / 2); // growth slack at most half
    }
}

public class UserStatsCompatibilityTests
{
    [Fact]
    public void state_saved_in_format_2_still_reads()
    {
        // Format 2 (what landed before this change): totals, then day/week/month/year buckets with an action
        // count and sums per measure, streak runs, board cells, latest dimension values.
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer))
        {
            w.Write((byte)2);
            w.Write(42L); // last event id
            w.Write(2L);  // actions
            w.Write(1);
            w.Write("co2"); w.Write(3.5m); w.Write(2L);
            void Buckets(params (int Key, decimal Sum)[] entries)
            {
                w.Write(entries.Length);
                foreach (var (key, sum) in entries) { w.Write(key); w.Write(1L); w.Write(1); w.Write("co2"); w.Write(sum); }
            }
            var day = new DateOnly(2025, 11, 22);
            Buckets((day.DayNumber - 1, 1.5m), (day.DayNumber, 2m));
            Buckets((202547, 3.5m));
            Buckets((202511, 3.5m));
            Buckets((2025, 3.5m));
            w.Write(1); w.Write(day.DayNumber - 1); w.Write(day.DayNumber);
            w.Write(0); // cells
            w.Write(1); w.Write("country"); w.Write("DE");
        }
        var stats = UserStatsCodec.Decode(buffer.ToArray());
        var view = stats.View(new DateOnly(2025, 11, 22));
        view.Measures["co2"].ShouldBe(new MeasurePeriods(3.5m, 3.5m, 3.5m, 3.5m, 2m, 2));
        view.CurrentStreak.ShouldBe(2);
        stats.LastEventId.ShouldBe(42);
        stats.LatestDims["country"].ShouldBe("DE");
        // And it round-trips in the current format.
        UserStatsCodec.Decode(UserStatsCodec.Encode(stats)).View(new DateOnly(2025, 11, 22)).Measures["co2"].ShouldBe(view.Measures["co2"]);
    }
}
