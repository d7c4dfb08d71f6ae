using System.Text.Json;
using Npgsql;
using Tally.Domain.Boards;

namespace Tally.Testing;

/// <summary>
/// Boards and rollups computed the slow, obvious way from a tenant's event log, to compare the
/// cluster against: walk every event in commit order, add it to each (measure, scope, period) it
/// falls in, remember who reached each score first.
/// </summary>
public sealed class BoardReference
{
    public sealed record Cell(decimal Score, long Actions, long Reached);

    public Dictionary<BoardKey, Dictionary<string, Cell>> Boards { get; } = new();

    public static async Task<BoardReference> FromLogAsync(NpgsqlDataSource db, string tenantId, string[] scopes, PeriodKind[] periods)
    {
        var reference = new BoardReference();
        await using var cmd = db.CreateCommand(
            "SELECT user_id, event_id, action_date, measures::text, dims::text FROM user_action_events WHERE tenant_id = $1 ORDER BY event_id");
        cmd.Parameters.Add(new() { Value = tenantId });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var user = reader.GetString(0);
            var id = reader.GetInt64(1);
            var day = reader.GetFieldValue<DateOnly>(2);
            using var measures = JsonDocument.Parse(reader.GetString(3));
            var dims = reader.IsDBNull(4) ? new Dictionary<string, string>() : JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(4))!;
            foreach (var m in measures.RootElement.EnumerateObject())
            {
                var value = m.Value.GetDecimal();
                foreach (var scope in scopes)
                {
                    var scopeValue = "";
                    if (scope != "global" && !dims.TryGetValue(scope, out scopeValue!)) continue;
                    foreach (var period in periods)
                    {
                        var key = new BoardKey(m.Name, scope, scopeValue, period, Periods.KeyOf(period, day));
                        if (!reference.Boards.TryGetValue(key, out var board)) reference.Boards[key] = board = new();
                        board[user] = board.TryGetValue(user, out var c)
                            ? new Cell(c.Score + value, c.Actions + 1, value != 0 ? id : c.Reached)
                            : new Cell(value, 1, id);
                    }
                }
            }
        }
        return reference;
    }

    /// <summary>The board's members best first: higher score, then who reached it first.</summary>
    public List<(string UserId, decimal Score)> Ranking(BoardKey key) =>
        Boards.TryGetValue(key, out var board)
            ? board.OrderByDescending(p => p.Value.Score).ThenBy(p => p.Value.Reached).Select(p => (p.Key, p.Value.Score)).ToList()
            : new();

    public (decimal Total, long Users, long Actions) Rollup(BoardKey key) =>
        Boards.TryGetValue(key, out var board)
            ? (board.Values.Sum(c => c.Score), board.Count, board.Values.Sum(c => c.Actions))
            : (0m, 0, 0);
}
