"""Discovery is the Rust crate's: launcher and RANKLOG_* variables it cannot use raise
`ranklog.ConfigError` (a ValueError) naming the variable and its value; good ones give
the identity `rank_info()` shows."""

import textwrap

from conftest import clean_env, run_python


def test_a_bad_rank_variable_is_named():
    code = textwrap.dedent("""
        import ranklog
        try:
            ranklog.install()
        except ValueError as e:
            assert type(e) is ranklog.ConfigError
            print(e)
    """)
    proc = run_python(code, env=clean_env(OMPI_COMM_WORLD_RANK="two", OMPI_COMM_WORLD_SIZE="4"))
    assert "OMPI_COMM_WORLD_RANK" in proc.stdout and '"two"' in proc.stdout, proc.stdout


def test_a_bad_ranklog_variable_is_named():
    code = "import ranklog\ntry:\n    ranklog.install()\nexcept ranklog.ConfigError as e:\n    print(e)\n"
    proc = run_python(code, env=clean_env(RANKLOG_LEVEL="loud"))
    assert "RANKLOG_LEVEL" in proc.stdout and "loud" in proc.stdout, proc.stdout


def test_rank_info_reads_the_launcher_and_is_read_only():
    code = textwrap.dedent("""
        import ranklog
        before = ranklog.rank_info()
        info = ranklog.install()
        print(before.rank, info.rank, info.size, info.local_rank, info.local_size,
              info.launcher, bool(info.host))
        try:
            info.rank = 0
        except AttributeError:
            print("read-only")
    """)
    proc = run_python(code, env=clean_env(OMPI_COMM_WORLD_RANK=2, OMPI_COMM_WORLD_SIZE=4,
                                          OMPI_COMM_WORLD_LOCAL_RANK=0,
                                          OMPI_COMM_WORLD_LOCAL_SIZE=2, RANKLOG_GPU="off"))
    assert proc.stdout.split() == ["2", "2", "4", "0", "2", "open-mpi", "True", "read-only"]
