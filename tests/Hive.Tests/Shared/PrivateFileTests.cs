using System.Runtime.InteropServices;
using System.Text;
using Hive.Shared.Files;

namespace Hive.Tests.Shared;

/// <summary>Changes the process's umask, so it runs alone (after the parallel tests).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UmaskCollection
{
    public const string Name = "Umask";
}

[Collection(UmaskCollection.Name)]
public sealed partial class PrivateFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-private-file-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0b000_000_000)] // permissive: a plain create would be 0666
    [InlineData(0b010_111_111)] // restrictive: a plain create would be 0400
    public void The_file_is_exactly_0600_whatever_the_umask(int umask)
    {
        var path = Path.Combine(_dir, "token");
        var before = Umask(umask);
        try
        {
            foreach (var durability in Enum.GetValues<Durability>())
            {
                PrivateFile.WriteText(path, "secret", durability);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
            File.Delete(path);
            Assert.True(PrivateFile.TryCreate(path, "secret"u8, Durability.NeverTorn));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            Umask(before);
        }
    }

    [Fact]
    public void An_existing_file_is_replaced_whole_and_a_link_there_is_replaced_not_followed()
    {
        var path = Path.Combine(_dir, "config");
        File.WriteAllText(path, new string('x', 10_000));
        PrivateFile.WriteText(path, "short", Durability.Durable);
        Assert.Equal("short", File.ReadAllText(path));

        var elsewhere = Path.Combine(_dir, "elsewhere");
        File.WriteAllText(elsewhere, "untouched");
        File.Delete(path);
        File.CreateSymbolicLink(path, elsewhere);
        PrivateFile.Write(path, "new"u8, Durability.None);
        Assert.Equal("untouched", File.ReadAllText(elsewhere));
        Assert.Null(new FileInfo(path).LinkTarget);
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["config", "elsewhere"], Names());
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_temp_file()
    {
        var path = Path.Combine(_dir, "body.gz");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidDataException>(() => PrivateFile.Write(path, stream =>
        {
            stream.Write("half"u8);
            throw new InvalidDataException("the content could not be made");
        }, Durability.NeverTorn));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["body.gz"], Names());

        using (PrivateFile.Prepare(path)) { } // prepared, never committed
        Assert.Equal(["body.gz"], Names());
    }

    [Fact]
    public void A_rename_that_fails_leaves_no_temp_file()
    {
        var path = Path.Combine(_dir, "taken");
        Directory.CreateDirectory(path); // a file cannot be renamed over a directory
        Assert.ThrowsAny<IOException>(() => PrivateFile.Write(path, "x"u8, Durability.Durable));
        Assert.Equal(["taken"], Names());
    }

    [Fact]
    public void Try_create_never_clobbers()
    {
        var path = Path.Combine(_dir, "operator-token");
        Assert.True(PrivateFile.TryCreate(path, "first"u8, Durability.NeverTorn));
        Assert.False(PrivateFile.TryCreate(path, "second"u8, Durability.NeverTorn));
        Assert.Equal("first", File.ReadAllText(path, Encoding.ASCII));
        Assert.Equal(["operator-token"], Names());
    }

    private string[] Names() => Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial int Umask(int mask);
}
