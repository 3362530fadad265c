// Video I/O for detector demo through OpenCV (videoio, highgui); stubs that throw without it.
#include "darknet/video.hpp"

#include "darknet/error.hpp"

#ifdef DN_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/videoio.hpp>

#include "data/cv_image.hpp"
#endif

namespace dn {

#ifdef DN_OPENCV

bool have_video() { return true; }

struct VideoSource::Impl {
    cv::VideoCapture cap;
};

VideoSource::VideoSource(const std::string& path, int camera) : impl_(std::make_unique<Impl>()) {
    name_ = path.empty() ? strfmt("camera %d", camera) : path;
    const bool ok = path.empty() ? impl_->cap.open(camera) : impl_->cap.open(path);
    if (!ok || !impl_->cap.isOpened()) fail("cannot open video %s (OpenCV VideoCapture failed)", name_.c_str());
}

VideoSource::~VideoSource() = default;

bool VideoSource::read(Image* frame) {
    cv::Mat m;
    if (!impl_->cap.read(m) || m.empty()) return false;
    *frame = image_from_mat(m);
    return true;
}

double VideoSource::fps() const { return impl_->cap.get(cv::CAP_PROP_FPS); }

struct VideoSink::Impl {
    cv::VideoWriter out;
    int w = 0, h = 0;
};

VideoSink::VideoSink(const std::string& path, int w, int h, double fps) : impl_(std::make_unique<Impl>()), path_(path) {
    impl_->w = w, impl_->h = h;
    if (!impl_->out.open(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps > 0 ? fps : 25.0, cv::Size(w, h)))
        fail("cannot create video '%s' (OpenCV VideoWriter, MJPG, %dx%d)", path.c_str(), w, h);
}

VideoSink::~VideoSink() = default;

void VideoSink::write(const Image& frame) {
    if (frame.w != impl_->w || frame.h != impl_->h || frame.c != 3)
        fail("video '%s': frame of %dx%dx%d, the video is %dx%dx3", path_.c_str(), frame.w, frame.h, frame.c, impl_->w,
             impl_->h);
    impl_->out.write(mat_from_image(frame));
}

int show_image(const Image& im, const std::string& title, int ms) {
    try {
        cv::imshow(title, mat_from_image(im));
        return cv::waitKey(ms);
    } catch (const cv::Exception& e) {
        fail("cannot show '%s' (%s); run with -dont_show where there is no display", title.c_str(), e.what());
    }
}

#else

namespace {
[[noreturn]] void no_video() {
    fail("video needs a build with OpenCV: make OPENCV=1 (Debian package libopencv-dev)");
}
}  // namespace

bool have_video() { return false; }
struct VideoSource::Impl {};
VideoSource::VideoSource(const std::string&, int) { no_video(); }
VideoSource::~VideoSource() = default;
bool VideoSource::read(Image*) { no_video(); }
double VideoSource::fps() const { return 0; }
struct VideoSink::Impl {};
VideoSink::VideoSink(const std::string&, int, int, double) { no_video(); }
VideoSink::~VideoSink() = default;
void VideoSink::write(const Image&) { no_video(); }
int show_image(const Image&, const std::string&, int) { no_video(); }

#endif

}  // namespace dn
