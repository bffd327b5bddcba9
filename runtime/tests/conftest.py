import twisted


def pytest_report_header(config):
    return f"twisted {twisted.__version__} from {twisted.__file__}"
