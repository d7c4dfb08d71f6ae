using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.EventLog;

/// <summary>
/// A silo as Orleans' ADO.NET membership table keys it: cluster id, address, port and generation.
/// Log commits hold this row shared; activations lock a previous owner's row for update (decision 011).
/// </summary>
internal sealed record FenceIdentity(string ClusterId, string Address, int Port, int Generation)
{
    /// <summary>Sets @cluster, @address, @port and @generation; all null for an unfenced writer.</summary>
    internal static void AddParameters(NpgsqlCommand command, FenceIdentity? identity)
    {
        command.Parameters.Add(new NpgsqlParameter("cluster", NpgsqlDbType.Text) { Value = (object?)identity?.ClusterId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("address", NpgsqlDbType.Text) { Value = (object?)identity?.Address ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("port", NpgsqlDbType.Integer) { Value = (object?)identity?.Port ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("generation", NpgsqlDbType.Integer) { Value = (object?)identity?.Generation ?? DBNull.Value });
    }
}

/// <summary>
/// The silo whose membership row fences this process's log writes. A silo registers one; without it
/// (the writer alone in tests, tools) commits are checked against user epochs only.
/// </summary>
internal interface IWriteFence
{
    FenceIdentity Identity { get; }
}
