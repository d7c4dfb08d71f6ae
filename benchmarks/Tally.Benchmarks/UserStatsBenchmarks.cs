using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Stats;

namespace Tally.Benchmarks;

/// <summary>
/// What a user grain does per event and per save, on a user of the climate profile's shape (one measure; global,
/// country and org boards over all_time, year, month and week; global and country rollups) with a year of weekly
/// activity: <see cref="UserStats.Apply"/> of one event with the board plan (the cells it touches are collected, as
/// the grain does), and <see cref="UserStatsCodec"/>'s encode and decode of that user's state (every save, every
/// activation), and <see cref="SavedCells"/>' read of only its board cells (every user in a board shard's rebuild).
/// </summary>
[MemoryDiagnoser]
public class UserStatsBenchmarks
{
    private const int Events = 1024;

    private static readonly DateOnly Start = new(2026, 1, 5);

    private BoardPlan _plan = null!;
    private ValidEvent[] _events = null!;
    private UserStats _history = null!;
    private byte[] _encoded = null!;
    private readonly List<BoardKey> _touched = new(64);

    [GlobalSetup]
    public void Setup()
    {
        using var config = JsonDocument.Parse("""
            {
              "time_zone": "Europe/Berlin",
              "measures": { "co2_saved_kg": { "min": 0, "max": 100000 } },
              "dimensions": ["country", "org"],
              "leaderboards": { "measures": ["co2_saved_kg"], "scopes": ["global", "country", "org"], "periods": ["all_time", "year", "month", "week"] },
              "rollups": { "scopes": ["global", "country"], "periods": ["all_time", "year", "month", "week", "day"] }
            }
            """);
        _plan = new BoardPlan(TenantConfigParser.Parse(config.RootElement, out var error) ?? throw new InvalidOperationException(error?.Message));
        var random = new Random(42);
        _events = Enumerable.Range(0, Events).Select(i => Event(i, random)).ToArray();
        _history = new UserStats();
        for (var week = 0; week < 52; week++) _history.Apply(week + 1, Start.AddDays(7 * week), Event(week, random), _plan);
        _encoded = UserStatsCodec.Encode(_history);
    }

    private static ValidEvent Event(int i, Random random) => new("u1", "bike", Start.AddDays(i % 364).ToDateTime(TimeOnly.MinValue), $"k{i}",
        [new MeasureValue("co2_saved_kg", random.Next(1, 1000) / 100m)], [new DimValue("country", "DE"), new DimValue("org", "org-7")], null);

    /// <summary>One event applied to the year-long user (per operation: <see cref="Events"/> events on a fresh copy).</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public int Apply()
    {
        var stats = UserStatsCodec.Decode(_encoded);
        var touched = 0;
        for (var i = 0; i < _events.Length; i++)
        {
            _touched.Clear();
            stats.Apply(1000 + i, DateOnly.FromDateTime(_events[i].OccurredAt.UtcDateTime), _events[i], _plan, _touched);
            touched += _touched.Count;
        }
        return touched;
    }

    /// <summary>The year-long user's state encoded, as every save writes it.</summary>
    [Benchmark]
    public byte[] Encode() => UserStatsCodec.Encode(_history);

    /// <summary>The year-long user's state decoded, as every activation reads it.</summary>
    [Benchmark]
    public UserStats Decode() => UserStatsCodec.Decode(_encoded);

    private readonly SavedCells _saved = new();
    private readonly List<(BoardKey Key, BoardCell Cell)> _cells = new(128);

    /// <summary>Only the year-long user's board cells read from its state, as a board shard's rebuild reads it.</summary>
    [Benchmark]
    public long ReadCells() => _saved.Read(_encoded, _cells);
}
