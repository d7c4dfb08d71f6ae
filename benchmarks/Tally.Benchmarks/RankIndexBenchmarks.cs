using BenchmarkDotNet.Attributes;
using Tally.Domain.Boards;

namespace Tally.Benchmarks;

/// <summary>
/// The rank index's hot operations on one board of <see cref="Members"/> members with random scores in cents,
/// added in random order: moving a member to a new score (every board update), a member's rank, the number of
/// members before a position (another shard's rank probe), a top-100 page, and a board cell applied through
/// <see cref="ShardBoard"/> (what a shard does per cell). Operations pick members from a fixed random sequence.
/// </summary>
[MemoryDiagnoser]
public class RankIndexBenchmarks
{
    private const int Ops = 1024;

    [Params(1_000_000)]
    public int Members { get; set; }

    private RankIndex _index = null!;
    private ShardBoard _board = null!;
    private int[] _slots = null!;
    private int[] _picks = null!;
    private decimal[] _scores = null!;
    private readonly List<RankEntry> _page = new(100);
    private long _version;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _index = new RankIndex(Members);
        _board = new ShardBoard(new BoardKey("co2", BoardKey.Global, "", PeriodKind.AllTime, 0), ranked: true);
        _slots = new int[Members];
        var cells = new List<(int, BoardCell)>(Members);
        for (var m = 0; m < Members; m++)
        {
            var score = random.Next(0, 10_000_000) / 100m;
            _slots[m] = _index.Add(m, score, m);
            cells.Add((m, new BoardCell(score, 1, m, m)));
        }
        _board.Load(cells);
        _version = Members;
        _picks = Enumerable.Range(0, Ops).Select(_ => random.Next(Members)).ToArray();
        _scores = Enumerable.Range(0, Ops).Select(_ => random.Next(0, 10_000_000) / 100m).ToArray();
    }

    // Writes wait for the next read, which places them (decision 026): each batch of writes ends with a read, so
    // a write's figure is recording it and placing it, as a shard between two reads does.
    [Benchmark(OperationsPerInvoke = Ops)]
    public int Move()
    {
        for (var i = 0; i < Ops; i++) _index.Move(_slots[_picks[i]], _scores[i], ++_version);
        return _index.Count;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int Rank()
    {
        var sum = 0;
        for (var i = 0; i < Ops; i++) sum += _index.RankOf(_slots[_picks[i]]);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int CountBefore()
    {
        var sum = 0;
        for (var i = 0; i < Ops; i++) sum += _index.CountBefore(_scores[i], long.MaxValue);
        return sum;
    }

    [Benchmark]
    public int TopPage()
    {
        _page.Clear();
        _index.Page(0, 100, _page);
        return _page.Count;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int ApplyCell()
    {
        for (var i = 0; i < Ops; i++)
        {
            var v = ++_version;
            _board.Apply(_picks[i], new BoardCell(_scores[i], 2, v, v));
        }
        return _board.Ranks!.Count;
    }
}
