using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Tally.Benchmarks;

// dotnet run -c Release --project benchmarks/Tally.Benchmarks [-- BenchmarkDotNet options] [--write-docs]
// --write-docs puts the GitHub-markdown table into docs/benchmarks.md (section "index"); without it nothing is written.
var writeDocs = args.Contains("--write-docs");
var started = DateTime.UtcNow;
var config = DefaultConfig.Instance; // its exporters include GitHub markdown
var summaries = BenchmarkSwitcher.FromAssembly(typeof(RankIndexBenchmarks).Assembly).Run(args.Where(a => a != "--write-docs").ToArray(), config);
if (!writeDocs) return 0;

var root = new DirectoryInfo(AppContext.BaseDirectory);
while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orleans.sln"))) root = root.Parent;
if (root is null) { Console.Error.WriteLine("Run from inside the repository to write docs/benchmarks.md."); return 1; }
// This run's GitHub-markdown reports (their names carry the summary title, which may carry a time stamp).
var tables = summaries.Select(s => s.ResultsDirectoryPath).Distinct().Where(Directory.Exists)
    .SelectMany(dir => new DirectoryInfo(dir).GetFiles("*-report-github.md"))
    .Where(f => f.LastWriteTimeUtc >= started).OrderBy(f => f.Name).Select(f => File.ReadAllText(f.FullName)).ToList();
if (tables.Count == 0) { Console.Error.WriteLine("No results to write."); return 1; }

var body = "## Rank index (BenchmarkDotNet)\n\n" +
           "Command: `dotnet run -c Release --project benchmarks/Tally.Benchmarks -- --filter '*' --write-docs`.  \n" +
           $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Per operation on one board of 1,000,000 members (scores in cents, random order); " +
           "Move, Rank, CountBefore and ApplyCell are per single operation, TopPage per 100-entry page. " +
           "Move and ApplyCell run 1,024 writes and then one read, which places them (writes wait for the next read), " +
           "so their figures are a write recorded and placed.\n\n" +
           string.Join("\n", tables).Trim() + "\n";
var path = Path.Combine(root.FullName, "docs", "benchmarks.md");
var text = File.ReadAllText(path);
const string begin = "<!-- bench:index -->", end = "<!-- /bench:index -->";
var block = $"{begin}\n{body.TrimEnd()}\n{end}";
var i = text.IndexOf(begin, StringComparison.Ordinal);
var j = text.IndexOf(end, StringComparison.Ordinal);
text = i >= 0 && j > i ? text[..i] + block + text[(j + end.Length)..] : text.TrimEnd() + "\n\n" + block + "\n";
File.WriteAllText(path, text);
Console.WriteLine($"written to {path}");
return 0;
