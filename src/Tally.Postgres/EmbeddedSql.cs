namespace Tally.Postgres;

/// <summary>SQL kept in <c>.sql</c> files beside the code that runs it, embedded in this assembly.</summary>
internal static class EmbeddedSql
{
    /// <summary>The text of an embedded file by its path in the project, e.g. <c>Snapshots/DailyStatsRefresh.sql</c>.</summary>
    public static string Read(string path)
    {
        var name = "Tally.Postgres." + path.Replace('/', '.');
        using var stream = typeof(EmbeddedSql).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"No embedded SQL named {name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
