using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tally.Postgres;

namespace Tally.Testing;

/// <summary>A fresh, migrated database on the test PostgreSQL server (started by deploy/local/test), dropped at the end.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private TestDatabase(string adminConnectionString, string name, NpgsqlDataSource dataSource)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        DataSource = dataSource;
    }

    public string Name { get; }
    public NpgsqlDataSource DataSource { get; }
    public string ConnectionString => DataSource.ConnectionString;

    public static async Task<TestDatabase> CreateAsync(string purpose)
    {
        var admin = Environment.GetEnvironmentVariable("TALLY_TEST_PG")
                    ?? throw new InvalidOperationException("TALLY_TEST_PG is not set: run the tests through deploy/local/test, which starts PostgreSQL.");
        var name = $"tally_{purpose}_{Guid.NewGuid():N}"[..40];
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                $"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'", conn); // as deploy/local creates it
            await cmd.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 60 };
        var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync();
        // Tests count statements (how many lookups a flood of bad keys costs, how much a job reads).
        await using (var ext = dataSource.CreateCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")) await ext.ExecuteNonQueryAsync();
        return new TestDatabase(admin, name, dataSource);
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var cmd = DataSource.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(_adminConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
