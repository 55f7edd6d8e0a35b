using System.Runtime.InteropServices;
using Hive.Features.StateFiles;
using Microsoft.Win32.SafeHandles;

namespace Hive.Tests.Features.StateFiles;

using Architecture = System.Runtime.InteropServices.Architecture; // inside the namespace, or Hive.Tests.Architecture wins

/// <summary>
/// The open(2) flags and the statx layout the allow-list relies on, checked against the kernel that runs the tests:
/// a flag value that is wrong for this architecture fails here instead of silently following a symlink in production.
/// </summary>
public sealed partial class NativeTests : IDisposable
{
    // asm-generic/errno-base.h and errno.h, shared by every architecture in OpenFlags' table.
    private const int ENOTDIR = 20;
    private const int ELOOP = 40;

    private readonly string _dir = Directory.CreateTempSubdirectory("hive-native-").FullName;

    public NativeTests()
    {
        File.WriteAllText(Item("file.txt"), "a regular file");
        Directory.CreateDirectory(Item("dir"));
        File.WriteAllText(Item("dir", "inner.txt"), "below a real dir");
        File.CreateSymbolicLink(Item("link-to-file"), "file.txt");
        Directory.CreateSymbolicLink(Item("link-to-dir"), "dir");
        File.CreateSymbolicLink(Item("loop"), "loop");
        Assert.Equal(0, MakeFifo(Item("fifo"), 0x180)); // 0600
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Item(params string[] parts) => Path.Combine([_dir, .. parts]);

    [Fact]
    public void The_start_up_check_passes_on_this_machine() => Native.RequireSupportedPlatform();

    [Fact]
    public void OpenNoFollow_refuses_a_symlink_to_a_regular_file_with_ELOOP()
    {
        Assert.Null(Native.OpenNoFollow(Item("link-to-file")));
        Assert.Equal(ELOOP, Marshal.GetLastPInvokeError());
        using var file = Native.OpenNoFollow(Item("file.txt"));
        Assert.NotNull(file);
    }

    [Fact]
    public void OpenNoFollow_follows_only_intermediate_symlinks_which_is_why_the_allow_list_checks_what_it_opened()
    {
        using var handle = Native.OpenNoFollow(Item("link-to-dir", "inner.txt"));
        Assert.NotNull(handle);
        Assert.Equal(Native.CanonicalPath(Item("dir", "inner.txt")), Native.PathOf(handle));
    }

    [Fact]
    public async Task OpenNoFollow_opens_a_fifo_without_waiting_for_a_writer()
    {
        var open = Task.Run(() => Native.OpenNoFollow(Item("fifo")));
        try
        {
            using var handle = await open.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(handle);
            Assert.False(Native.Stat(handle).IsRegular);
        }
        finally
        {
            // Without O_NONBLOCK the open waits for a writer: be that writer, so no thread is left blocked.
            if (!open.IsCompleted) using (File.OpenWrite(Item("fifo"))) { }
        }
    }

    [Fact]
    public void Opened_descriptors_are_closed_on_exec()
    {
        const int F_GETFD = 1, FD_CLOEXEC = 1;
        using var handle = Native.OpenNoFollow(Item("file.txt"));
        Assert.NotNull(handle);
        Assert.Equal(FD_CLOEXEC, GetFdFlags(handle, F_GETFD) & FD_CLOEXEC);
    }

    [Fact]
    public void The_directory_flag_refuses_a_regular_file()
    {
        Assert.Equal(Native.WalkEnd.Missing, Native.Walk(Item("file.txt"), []));
        Assert.Equal(ENOTDIR, Marshal.GetLastPInvokeError());
        Assert.Equal(Native.WalkEnd.Complete, Native.Walk(Item("dir"), []));
    }

    [Fact]
    public void The_walk_stops_at_a_symlink_whether_it_is_the_final_or_an_intermediate_component()
    {
        Assert.Equal(Native.WalkEnd.Symlink, Native.Walk(_dir, ["link-to-file"]));
        Assert.Equal(Native.WalkEnd.Symlink, Native.Walk(_dir, ["link-to-dir", "inner.txt"]));
        Assert.Equal(Native.WalkEnd.Symlink, Native.Walk(_dir, ["loop"]));
        Assert.Equal(Native.WalkEnd.Complete, Native.Walk(_dir, ["dir", "inner.txt"]));
        Assert.Equal(Native.WalkEnd.Missing, Native.Walk(_dir, ["dir", "missing"]));
        Assert.Equal(Native.WalkEnd.Missing, Native.Walk(_dir, ["file.txt", "below-a-file"]));
    }

    [Fact]
    public async Task CanonicalPath_resolves_every_symlink_and_does_not_wait_on_a_fifo()
    {
        var real = Native.CanonicalPath(Item("dir", "inner.txt"));
        Assert.NotNull(real);
        Assert.EndsWith("/dir/inner.txt", real);
        Assert.Equal(real, Native.CanonicalPath(Item("link-to-dir", "inner.txt")));
        Assert.Null(Native.CanonicalPath(Item("loop")));
        Assert.Null(Native.CanonicalPath(Item("missing")));
        // O_PATH opens the FIFO itself, never for reading; a write-open unblocks a wrong flag so no thread is left hanging.
        var fifo = Task.Run(() => Native.CanonicalPath(Item("fifo")));
        try
        {
            Assert.EndsWith("/fifo", await fifo.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            if (!fifo.IsCompleted) using (File.OpenWrite(Item("fifo"))) { }
        }
    }

    [Fact]
    public void Stat_reads_the_file_type_and_the_link_count()
    {
        using (var file = Native.OpenNoFollow(Item("file.txt")))
            Assert.Equal((true, 1L), Native.Stat(file!));
        Assert.Equal(0, HardLink(Item("file.txt"), Item("second-name.txt")));
        using (var file = Native.OpenNoFollow(Item("file.txt")))
            Assert.Equal((true, 2L), Native.Stat(file!));
        using (var dir = Native.OpenNoFollow(Item("dir")))
            Assert.False(Native.Stat(dir!).IsRegular);
    }

    [Theory]
    [InlineData(Architecture.X64, 0x20000, 0x10000)]
    [InlineData(Architecture.S390x, 0x20000, 0x10000)]
    [InlineData(Architecture.LoongArch64, 0x20000, 0x10000)]
    [InlineData(Architecture.RiscV64, 0x20000, 0x10000)]
    [InlineData(Architecture.Arm64, 0x8000, 0x4000)]
    [InlineData(Architecture.Arm, 0x8000, 0x4000)]
    [InlineData(Architecture.Ppc64le, 0x8000, 0x4000)]
    public void Each_architecture_dotnet_supports_on_Linux_has_its_own_flags(Architecture architecture, int noFollow, int directory)
    {
        var flags = OpenFlags.For(architecture);
        Assert.Equal((noFollow, directory), (flags.NoFollow, flags.Directory));
    }

    [Theory]
    [InlineData(Architecture.X86)]
    [InlineData(Architecture.Armv6)]
    [InlineData(Architecture.Wasm)]
    public void An_architecture_not_in_the_table_is_refused_not_guessed(Architecture architecture)
    {
        var refusal = Assert.Throws<PlatformNotSupportedException>(() => OpenFlags.For(architecture));
        Assert.Contains(architecture.ToString(), refusal.Message);
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int HardLink(string existing, string created);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int GetFdFlags(SafeFileHandle fd, int command);
}
