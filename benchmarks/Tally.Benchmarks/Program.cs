using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Tally.Benchmarks;

// dotnet run -c Release --project benchmarks/Tally.Benchmarks [-- BenchmarkDotNet options] [--write-docs]
// --write-docs puts each suite's GitHub-markdown table into its section of docs/benchmarks.md; without it nothing is written.
var writeDocs = args.Contains("--write-docs");
var started = DateTime.UtcNow;
var config = DefaultConfig.Instance; // its exporters include GitHub markdown
var summaries = BenchmarkSwitcher.FromAssembly(typeof(RankIndexBenchmarks).Assembly).Run(args.Where(a => a != "--write-docs").ToArray(), config);
if (!writeDocs) return 0;

var root = new DirectoryInfo(AppContext.BaseDirectory);
while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orleans.sln"))) root = root.Parent;
if (root is null) { Console.Error.WriteLine("Run from inside the repository to write docs/benchmarks.md."); return 1; }
// Each suite run has a section of its own in docs/benchmarks.md: its intro and this run's GitHub-markdown report.
var sections = new Dictionary<string, (string Marker, string Title, string Intro)>
{
    [nameof(RankIndexBenchmarks)] = ("index", "Rank index (BenchmarkDotNet)",
        "Per operation on one board of 1,000,000 members (scores in cents, random order); " +
        "Move, Rank, CountBefore and ApplyCell are per single operation, TopPage per 100-entry page. " +
        "Move and ApplyCell run 1,024 writes and then one read, which places them (writes wait for the next read), " +
        "so their figures are a write recorded and placed."),
    [nameof(UserStatsBenchmarks)] = ("user-stats", "User stats: apply and codec (BenchmarkDotNet)",
        "A user of the climate profile's shape (12 boards, 10 rollups) with a year of weekly events: Apply is one event " +
        "applied with the board plan and the touched cells collected (per event, 1,024 per invocation on a decoded copy, " +
        "the decode included once per invocation); Encode and Decode are that user's saved state, as every save and " +
        "activation makes and reads it; ReadCells reads only its board cells from it, as a board shard's rebuild does for each user."),
    [nameof(JsonColumnsBenchmarks)] = ("json-columns", "Event log JSON columns (BenchmarkDotNet)",
        "The `measures` and `dims` columns of one event with two measures and two dimensions, as the writer makes them for " +
        "every row it commits and the reader parses them on every replay; the baseline serializes a dictionary of the " +
        "measures, as a writer without the reused per-thread writer would."),
    [nameof(GrainRefsBenchmarks)] = ("grain-refs", "Grain references (BenchmarkDotNet)",
        "One reference to a user grain from its key: Orleans' `GetGrain<T>(key)` (the baseline) and `GrainRefs.Grain<T>(key)`, " +
        "which resolves the grain and interface types once per process."),
};
var path = Path.Combine(root.FullName, "docs", "benchmarks.md");
var text = File.ReadAllText(path);
var written = 0;
foreach (var summary in summaries)
{
    var type = summary.BenchmarksCases.FirstOrDefault()?.Descriptor.Type;
    if (type is null || !sections.TryGetValue(type.Name, out var section)) continue;
    var report = new DirectoryInfo(summary.ResultsDirectoryPath).GetFiles($"*{type.Name}*-report-github.md")
        .Where(f => f.LastWriteTimeUtc >= started).OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault();
    if (report is null) continue;
    var body = $"## {section.Title}\n\n" +
               $"Command: `dotnet run -c Release --project benchmarks/Tally.Benchmarks -- --filter '*{type.Name}*' --write-docs`.  \n" +
               $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. {section.Intro}\n\n" +
               File.ReadAllText(report.FullName).Trim() + "\n";
    string begin = $"<!-- bench:{section.Marker} -->", end = $"<!-- /bench:{section.Marker} -->";
    var block = $"{begin}\n{body.TrimEnd()}\n{end}";
    var i = text.IndexOf(begin, StringComparison.Ordinal);
    var j = text.IndexOf(end, StringComparison.Ordinal);
    text = i >= 0 && j > i ? text[..i] + block + text[(j + end.Length)..] : text.TrimEnd() + "\n\n" + block + "\n";
    written++;
}
if (written == 0) { Console.Error.WriteLine("No results to write."); return 1; }
File.WriteAllText(path, text);
Console.WriteLine($"{written} section(s) written to {path}");
return 0;
