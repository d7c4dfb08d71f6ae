using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Xunit;

namespace Tally.Domain.Tests;

/// <summary>A rebuild's cells-only read of saved states against the whole decode.</summary>
public class SavedCellsTests
{
    private static readonly DateOnly Base = new(2025, 11, 1);

    // Two measures, boards on two dimensions, an actions goal per week and per day (so counts are saved), a breakdown.
    private static readonly BoardPlan Plan = Parse("""
        {"time_zone": "UTC", "measures": {"co2": {}, "km": {}}, "dimensions": ["country", "org"], "breakdowns": ["org"],
         "leaderboards": {"measures": ["co2", "km"], "scopes": ["global", "country", "org"], "periods": ["all_time", "year", "month", "week"]},
         "rollups": {"scopes": ["global", "country"], "periods": ["all_time", "year", "month", "day"]},
         "goals": {"rides_week": {"measure": "km", "of": "actions", "window": "week", "targets": [3]},
                   "rides_day": {"measure": "co2", "of": "actions", "window": "day", "targets": [2]},
                   "co2_month": {"measure": "co2", "window": "month", "targets": [10, 50]}}}
        """);

    private static BoardPlan Parse(string json)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        return new BoardPlan(Config.TenantConfigParser.Parse(doc.RootElement, out _) ?? throw new InvalidOperationException("the test's config does not parse"));
    }

    private sealed record Ride(int Offset, int Cents, bool Km, int Country, int Org);

    private static readonly Gen<Ride> GenRide = Gen.Select(Gen.Int[0, 400], Gen.Int[-500, 100_000], Gen.Bool, Gen.Int[0, 3], Gen.Int[0, 5])
        .Select((offset, cents, km, country, org) => new Ride(offset, cents, km, country, org));

    private static UserStats Build(Ride[] rides)
    {
        var stats = new UserStats();
        for (var i = 0; i < rides.Length; i++)
        {
            var r = rides[i];
            MeasureValue[] measures = r.Km ? [new("co2", r.Cents / 100m), new("km", r.Cents / 7m)] : [new("co2", r.Cents / 100m)];
            var e = new ValidEvent("u", "ride", Base.AddDays(r.Offset).ToDateTime(TimeOnly.MinValue), $"k{i}", measures,
                [new DimValue("country", "c" + r.Country), new DimValue("org", "org-" + r.Org)], null);
            stats.Apply(i + 1, Base.AddDays(r.Offset), e, Plan);
        }
        return stats;
    }

    [Fact]
    public void reads_the_cells_and_last_event_id_the_whole_decode_gives()
    {
        GenRide.Array[0, 40].Sample(rides =>
        {
            // Samples run in parallel: a reader each, as each shard has its own.
            var saved = new SavedCells();
            var cells = new List<(BoardKey Key, BoardCell Cell)>();
            var stats = Build(rides);
            if (rides.Length > 3) stats.Checkpoint = new Checkpoints.CheckpointTimeline(); // a section after the cells
            var bytes = UserStatsCodec.Encode(stats);
            var whole = UserStatsCodec.Decode(bytes);

            saved.Read(bytes, cells).ShouldBe(whole.LastEventId);
            cells.Count.ShouldBe(whole.Cells.Count);
            foreach (var (key, cell) in cells)
            {
                whole.Cells.TryGetValue(key, out var expected).ShouldBeTrue();
                cell.ShouldBe(expected);
                // Scale kept too: 1.50 stays 1.50 (a score's text is what the API shows).
                cell.Score.Scale.ShouldBe(expected.Score.Scale);
            }
        }, iter: 300);
    }

    [Fact]
    public void key_strings_are_shared_across_users()
    {
        var saved = new SavedCells();
        var first = new List<(BoardKey Key, BoardCell Cell)>();
        var second = new List<(BoardKey Key, BoardCell Cell)>();
        saved.Read(UserStatsCodec.Encode(Build([new Ride(3, 150, true, 1, 2)])), first);
        saved.Read(UserStatsCodec.Encode(Build([new Ride(9, 250, true, 1, 2)])), second);
        var a = first.First(c => c.Key.Dimension == "org").Key;
        var b = second.First(c => c.Key.Dimension == "org" && c.Key.Period == a.Period).Key;
        ReferenceEquals(a.Value, b.Value).ShouldBeTrue();
        ReferenceEquals(a.Measure, b.Measure).ShouldBeTrue();
    }

    [Fact]
    public void an_empty_state_has_no_cells_and_a_cut_one_is_refused()
    {
        var saved = new SavedCells();
        var cells = new List<(BoardKey Key, BoardCell Cell)> { default };
        saved.Read([], cells).ShouldBe(0);
        cells.ShouldBeEmpty();
        var bytes = UserStatsCodec.Encode(Build([new Ride(1, 100, true, 0, 0), new Ride(2, 200, false, 1, 1)]));
        Should.Throw<InvalidDataException>(() => saved.Read(bytes.AsSpan(0, 30), cells));
    }
}
